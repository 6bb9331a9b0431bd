//! Word lists and small generators for generated traffic: member names (Korean and English),
//! phones, addresses and merchant names. Pure functions of a random source.

use rand::Rng;

const KO_SURNAMES: [&str; 20] = [
    "김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권", "황",
    "안", "송", "류", "홍",
];
const KO_GIVEN: [&str; 24] = [
    "서연", "민준", "지우", "하윤", "도윤", "서준", "예준", "지호", "수아", "지민", "현우", "은서",
    "민서", "준서", "유진", "채원", "시우", "하은", "지훈", "건우", "다은", "태윤", "소율", "연우",
];
const EN_FIRST: [&str; 24] = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Oliver", "Sophia", "Elijah", "Isabella", "James",
    "Mia", "William", "Amelia", "Benjamin", "Harper", "Lucas", "Evelyn", "Henry", "Ella", "Jack",
    "Grace", "Daniel", "Chloe", "Samuel",
];
const EN_LAST: [&str; 20] = [
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas", "Roberts",
    "Walker", "Lee", "Park", "Kim", "Clark", "Lewis", "Hall", "Young", "King", "Wright", "Scott",
];
const KO_DISTRICTS: [&str; 12] = [
    "서울시 강남구",
    "서울시 마포구",
    "서울시 송파구",
    "서울시 종로구",
    "부산시 해운대구",
    "인천시 연수구",
    "대구시 수성구",
    "성남시 분당구",
    "수원시 영통구",
    "대전시 유성구",
    "광주시 서구",
    "제주시 연동",
];
const EN_CITIES: [&str; 6] = [
    "Seoul (Itaewon)",
    "Busan (Haeundae)",
    "Pangyo Techno Valley",
    "Songdo International City",
    "Seoul (Hannam-dong)",
    "Jeju City",
];
const MERCHANTS: [&str; 24] = [
    "GS25",
    "CU 편의점",
    "Starbucks",
    "이마트",
    "Olive Young",
    "Paris Baguette",
    "롯데마트",
    "emart24",
    "교보문고",
    "Daiso",
    "Homeplus",
    "배스킨라빈스",
    "CGV",
    "Coupang",
    "Market Kurly",
    "투썸플레이스",
    "메가커피",
    "Baemin",
    "Musinsa",
    "현대백화점",
    "Lotte Cinema",
    "아성다이소",
    "Twosome Place",
    "Kyobo Hottracks",
];

fn pick<'a, R: Rng>(rng: &mut R, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

/// A member: name, phone (most have one), address (about half). Two in three are Korean.
pub fn member<R: Rng>(rng: &mut R) -> (String, Option<String>, Option<String>) {
    let korean = rng.random_bool(0.65);
    let name = if korean {
        format!("{}{}", pick(rng, &KO_SURNAMES), pick(rng, &KO_GIVEN))
    } else {
        format!("{} {}", pick(rng, &EN_FIRST), pick(rng, &EN_LAST))
    };
    let phone = rng.random_bool(0.9).then(|| {
        if korean {
            format!(
                "010-{:04}-{:04}",
                rng.random_range(0..10_000),
                rng.random_range(0..10_000)
            )
        } else {
            format!(
                "+1 555-{:03}-{:04}",
                rng.random_range(0..1000),
                rng.random_range(0..10_000)
            )
        }
    });
    let address = rng.random_bool(0.5).then(|| {
        if korean {
            format!(
                "{} {}길 {}",
                pick(rng, &KO_DISTRICTS),
                rng.random_range(1..80),
                rng.random_range(1..200)
            )
        } else {
            pick(rng, &EN_CITIES).to_string()
        }
    });
    (name, phone, address)
}

/// The name of merchant `id` (1-based): the well-known names first, then branches.
pub fn merchant_name(id: u64) -> String {
    let i = (id - 1) as usize;
    let base = MERCHANTS[i % MERCHANTS.len()];
    match i / MERCHANTS.len() {
        0 => base.to_string(),
        branch => format!("{base} #{}", branch + 1),
    }
}

/// A purchase amount: log-uniform from 1,000 to about 500,000, in tens.
pub fn amount<R: Rng>(rng: &mut R) -> u64 {
    let v = 10f64.powf(rng.random_range(3.0..5.7));
    ((v as u64) / 10 * 10).max(10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MemberDraft, NewMember};
    use rand::SeedableRng;

    #[test]
    fn generated_members_pass_the_join_parser() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..500 {
            let (name, phone, address) = member(&mut rng);
            let draft = MemberDraft {
                name,
                phone,
                address,
            };
            assert!(NewMember::parse(&draft).is_ok(), "{draft:?}");
        }
    }

    #[test]
    fn merchant_names_repeat_as_numbered_branches() {
        assert_eq!(merchant_name(1), "GS25");
        assert_eq!(merchant_name(25), "GS25 #2");
    }

    #[test]
    fn amounts_stay_in_a_shop_range() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for _ in 0..1000 {
            let a = amount(&mut rng);
            assert!((1000..=501_200).contains(&a), "{a}");
        }
    }
}

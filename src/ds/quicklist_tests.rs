//! Tests for the quicklist: node layouts compared with Redis 7.0.15 (`DUMP`
//! of lists built by the same command sequences), and property tests against
//! a `VecDeque<Vec<u8>>` model.
use super::*;
use proptest::prelude::*;
use std::collections::VecDeque;

/// (fill, big values, n, per node: (header count, listpack bytes, FNV-1a 64
/// of the listpack bytes)) from Redis after `scenario(fill, big, n)`.
#[allow(clippy::type_complexity)]
const REDIS_LAYOUTS: &[(i32, bool, usize, &[(u16, usize, u64)])] = &[
    (
        -2,
        false,
        3000,
        &[
            (110, 3283, 0x90dfdba206711191),
            (244, 7794, 0x08011f37cca6df44),
            (38, 1208, 0x682f1a25ee02c5f8),
            (266, 7916, 0x7995580e06780f4a),
            (76, 2190, 0x579e68a9323e0ff3),
            (276, 7222, 0x672d5443b5da43fd),
            (274, 7852, 0xf863f2a5b3961a41),
            (39, 935, 0x1416de035fe61fd3),
            (265, 7882, 0x70c0ea7543942dec),
            (21, 791, 0x3a279fe920701313),
            (265, 8042, 0xfa474a6266e93f9e),
            (162, 5278, 0x17d27cd5610854d6),
            (228, 7568, 0x22ebac3be7ab4978),
            (192, 5845, 0x155ce0a735577045),
            (277, 8154, 0xbad212d3ed11c684),
            (285, 8185, 0x7d938d72e2bc6873),
            (26, 809, 0x35d4cd6997c1eebd),
        ],
    ),
    (
        5,
        false,
        400,
        &[
            (2, 58, 0x79b62f75b26c30cb),
            (5, 132, 0x34e9d9e7868c54ea),
            (5, 142, 0xe4f93d1292ad3d36),
            (1, 80, 0x86ec03c12672e919),
            (5, 202, 0x90af8e0a0484c2c5),
            (5, 172, 0x0b8e7c85939fceb2),
            (1, 71, 0x5cf4d6f4022adbe6),
            (5, 223, 0x7987b6382e87c626),
            (1, 19, 0xd87c1a875cdcad2c),
            (5, 165, 0x5a2d6dbf3705ab49),
            (2, 92, 0xd96d4dcc46f8c9fd),
            (5, 279, 0x9e543fc94abddc9a),
            (5, 104, 0xd31fce8f132b91eb),
            (5, 51, 0x464c429024006483),
            (2, 165, 0x6da768d63b39f3e4),
            (5, 370, 0x078531428dc3e3f1),
            (5, 133, 0xe8426a1dbccd9533),
            (3, 92, 0x49fcc0657bf03223),
            (5, 206, 0x1108b98512764b6f),
            (4, 216, 0xd48369ee30c3b0ec),
            (4, 133, 0x0da441aebefcccdb),
            (5, 210, 0x9090a8148669e795),
            (2, 43, 0xc02ae4e172e41b42),
            (5, 119, 0x8b93e4d899dbc780),
            (4, 211, 0x5f090f9c00240760),
            (4, 239, 0xc51b527da3c9234e),
            (3, 86, 0x895ea0e4a4bdfa83),
            (5, 117, 0xc786f6adba437eac),
            (2, 21, 0x528a71aef8f5f3e7),
            (4, 29, 0x915cf0bd50225700),
            (5, 50, 0xd51c309f200e26bc),
            (2, 30, 0x3b76b6abd5e83141),
            (3, 122, 0xd1c8126af2befc3e),
            (3, 143, 0x275e632f1d34070d),
            (3, 24, 0xa8fe0be04ca46f18),
            (2, 68, 0x47c268e14bf894b5),
            (3, 186, 0x133438e65273d6eb),
            (5, 101, 0xaad91ce589762331),
            (1, 48, 0x0563ebed464e5016),
            (5, 191, 0xfc8e3ad8e98e279c),
            (1, 50, 0xce579dda32ceabdf),
            (5, 174, 0x76c01bd77f0ee5fa),
            (4, 134, 0x9dc0753eab6af8ef),
            (1, 69, 0x32e12242240c44ce),
            (5, 323, 0x891ddb0728dc570d),
            (1, 151, 0x159eba4a0006398f),
            (4, 92, 0x056025167715f6d4),
            (4, 204, 0xc50619fd967bf9b1),
            (3, 40, 0x48c66d45cd9807fb),
            (2, 67, 0x6588c0fa2fe88a1a),
            (3, 33, 0x3e0f1ab1f8c45645),
            (3, 55, 0x95544a97fc6d60d8),
            (3, 115, 0x81f613427c998f9e),
            (5, 102, 0xf3db3c4d92f5b7fc),
            (4, 86, 0x68c5d4d1fdf788ca),
            (1, 154, 0x998ac8f594c68f78),
            (4, 238, 0xefe78b61a8665a5c),
            (2, 96, 0x31f20a5356ffbe16),
            (4, 158, 0x5bbddb67617ad30e),
            (1, 60, 0x01183efb65ad0940),
            (5, 233, 0x619a0960a293d861),
            (1, 90, 0x14b050923c1acf4d),
            (5, 205, 0xf348782237ef9a54),
            (1, 12, 0xdbf79d8c2dbbf89e),
            (5, 407, 0xcf1d991ace88e66e),
            (5, 34, 0x1ab8b4a285e5a900),
            (4, 224, 0x56b51112f137fdf9),
            (3, 45, 0x1b03e3904e6f1cda),
            (5, 75, 0x97584c3623627194),
            (4, 86, 0xa898f059061f257f),
            (2, 122, 0xe5edc8507ade4b66),
            (4, 167, 0xb508876146b2f27f),
            (2, 76, 0x280cedf108174126),
            (4, 128, 0x596fbb5032336bc7),
            (2, 165, 0xff80c1645260cf0e),
            (5, 197, 0xa5e9a7a3d89d93bb),
            (1, 28, 0x980e3f6d95c880a0),
            (5, 175, 0x523e310a0ccc0f7c),
            (1, 12, 0xa54c6ee02f06953a),
            (5, 302, 0x2d39ee7102154670),
            (5, 157, 0x2f8b8a764b1faa16),
            (2, 150, 0xe968f0bfe07541c3),
            (4, 283, 0x4f6b6a19cfaf43ed),
            (2, 170, 0x9fd309efcc20dbe9),
            (4, 39, 0xd188d842928d9715),
            (4, 56, 0x5d3f846bfdaf7d83),
            (2, 50, 0xaaf37a4780c686e4),
            (4, 96, 0x9163ff5caa8aedc1),
            (2, 56, 0x542c4b3497ab98b8),
            (4, 98, 0x067c8e3127dac96c),
            (2, 104, 0x3657fbc7315950dd),
            (5, 157, 0xbaf9807ee32bc995),
            (5, 145, 0x55e0dc8b11908a4b),
            (1, 166, 0xed051e2d49940321),
            (5, 168, 0x9d3da5b648862c32),
            (5, 134, 0x5536d2243387f4e1),
            (2, 128, 0x5afdf90734f98673),
            (4, 142, 0xc33a716930ef40fd),
            (2, 170, 0xb73e61504e3fb1b5),
            (4, 160, 0x9f628604952b0d84),
            (2, 84, 0x7ae9f0da33cf2c74),
            (4, 155, 0xb1ae25e1d9e2c45f),
            (5, 57, 0xc3e099e44fc60234),
            (4, 68, 0x87b724076c217453),
            (2, 42, 0x640805877ee9fb69),
            (5, 117, 0xba7a3e3aff2d01a6),
            (5, 115, 0x9bbe877f395f1eb7),
            (1, 105, 0x1361f15e9a4ff529),
            (5, 262, 0xd8d65b028f846864),
            (1, 49, 0xedc25c227af42078),
            (5, 74, 0xbdf9347438d83085),
            (1, 172, 0x10d6240f86ad893f),
            (5, 220, 0x3cfbf5ba460c0c67),
            (2, 97, 0x02dc8e27ddc9857b),
            (4, 85, 0x54f0b22a624f915c),
            (2, 135, 0x20e440aa79cae27c),
            (4, 217, 0x15713b9b447000cf),
            (5, 167, 0x2f610783bec20b83),
            (3, 27, 0x145dca5c3ff0184e),
            (3, 158, 0x957994d70cd17be4),
            (3, 193, 0x110bedb29a23f1eb),
            (3, 59, 0x40f006eb1fb3402b),
            (5, 85, 0x62606d39fd3fc6ee),
            (1, 44, 0x13063890f5ac98b5),
            (5, 149, 0xddda96d6fae907fd),
            (1, 39, 0x4bc97a85f6ea70fc),
            (5, 94, 0xccbd876c5f769a06),
            (1, 111, 0x58a62c245d15a32f),
            (5, 145, 0x5814eb6cce8890c7),
            (4, 113, 0x50cf05701fcc4635),
        ],
    ),
    (
        -1,
        true,
        300,
        &[
            (4, 103, 0x885df0ee1ee9f0ca),
            (1, 8518, 0xef211dd694db0f46),
            (7, 285, 0x9affe7afd2102d64),
            (1, 5898, 0xca73a1cb6190eb71),
            (18, 1339, 0x4cec80056582b553),
            (1, 7038, 0x10f730904c393b9f),
            (14, 337, 0x8cd2a973c208909e),
            (1, 8178, 0x689d6996482466da),
            (18, 1109, 0x6308f1c21ca78574),
            (12, 634, 0x531b286c5e6f10b3),
            (1, 4074, 0x4ff0829136961246),
            (19, 2063, 0xa8ee8153fdec34dd),
            (7, 2416, 0x3cc396746ea27232),
            (18, 510, 0x4ce570bf2f882f96),
            (1, 5387, 0xf330237138d1caa3),
            (3, 24, 0xb87d326bd85165e7),
            (1, 6042, 0x20afd0f5e1c6d8eb),
            (8, 658, 0x295fe2a61b41d99b),
            (1, 7352, 0x24355b25820b6a6a),
            (4, 190, 0x00a61f63cb9b207e),
            (1, 8007, 0xfb466bf565ec7926),
            (31, 3941, 0x8c377938c908bdc6),
            (1, 4248, 0xc7c84aa22fcb7df5),
            (2, 17, 0x553139e1f5f047e0),
            (1, 4903, 0x512991aea6abc770),
            (6, 163, 0xf6bc4d1252e7952e),
            (1, 6213, 0x2e6e5d9bb108aadd),
            (2, 65, 0xb4bce5f5b4199310),
            (1, 6868, 0x48a1ea54de38963f),
            (13, 833, 0x401a76bcb56ce999),
            (1, 8833, 0x23d2f11aeb2a77cf),
            (22, 1601, 0x778dac3ed278fed8),
            (6, 3456, 0x143700b6bb163987),
            (3, 3884, 0x73e0c46c05644c78),
            (6, 220, 0x926e7b28e880f5c2),
            (1, 5073, 0x6494588ed04ccfdc),
            (5, 177, 0x5cf0d01684cc4f42),
            (1, 5728, 0x24fd637716cd9d36),
            (11, 414, 0x2f533fca92ce9035),
            (1, 7693, 0x237cf8b87eb67d6c),
            (9, 542, 0x04051485e90c0a18),
            (1, 9003, 0x8b7c7f4307d18bdf),
            (19, 2575, 0xf35520af8fc35559),
            (7, 2712, 0x1cf5ee9f42d55812),
            (4, 3973, 0x69e9d6130be843f8),
            (1, 4588, 0x8ec3a28750833722),
            (10, 323, 0x8b494236c1a8b25e),
            (1, 6553, 0x3252c3f57fa05869),
            (7, 246, 0xfcd7826b0b398fa4),
            (1, 7863, 0x1a0096ec7529f82e),
            (27, 2053, 0x7b7c76709e70188f),
            (1, 2790, 0x4e96fdcf341f435f),
        ],
    ),
    (
        1,
        false,
        50,
        &[
            (1, 54, 0xd9243463d499a93b),
            (1, 157, 0xba5da985801866c1),
            (1, 28, 0x980e3f6d95c880a0),
            (1, 181, 0x5b569cfc3e69729e),
            (1, 46, 0x3415615a2d8923ee),
            (1, 53, 0x9fac060a60252488),
            (1, 42, 0x242ea642b4564c96),
            (1, 14, 0xe414995484679c4a),
            (1, 12, 0xa021991383d55965),
            (1, 102, 0x68f19a329db536c9),
            (1, 34, 0x9e77eedb21fe45e1),
            (1, 126, 0x8d1cce3d6f9017bc),
            (1, 30, 0x123a6a08e16a73b0),
            (1, 151, 0x159eba4a0006398f),
            (1, 22, 0x9a388f9b4ea34f86),
            (1, 14, 0xdb7970547f8c6651),
            (1, 22, 0x65ddba7cf42cc420),
            (1, 47, 0x8da001a88f5cde1e),
            (1, 17, 0xd10d4b217119e690),
            (1, 71, 0x5cf4d6f4022adbe6),
            (1, 11, 0x05561ea7fd000c0a),
            (1, 166, 0xed051e2d49940321),
            (1, 13, 0x8b19bbc034d46db3),
            (1, 13, 0xa5f4a17debde0a04),
            (1, 11, 0x2da14371c51c8758),
            (1, 154, 0x998ac8f594c68f78),
            (1, 142, 0x6234015f4a58dbf4),
            (1, 59, 0x6e002c209dd3a7aa),
            (1, 15, 0xcf5205cddc266db8),
            (1, 12, 0x5df742c81da84883),
            (1, 13, 0xae95ca7df0bdabab),
            (1, 18, 0x22925a94c73d9e40),
            (1, 117, 0x15d75cc9aba1871d),
            (1, 34, 0x8443105d32d2e8d2),
            (1, 187, 0x6f46ae83d9cb3028),
            (1, 12, 0x5d5c5bd93148cbed),
            (1, 21, 0xf3829cc7a7f7fd6a),
            (1, 105, 0x1361f15e9a4ff529),
            (1, 12, 0xb84388861452a604),
            (1, 13, 0x4f55077dbaccbcb2),
            (1, 163, 0x2559b7326d4c97cb),
            (1, 14, 0x9ec951545d289ba2),
            (1, 25, 0x87651b0c131849a2),
            (1, 81, 0x07fe0ea28a5f8596),
            (1, 27, 0x0d77170b8d311a6e),
            (1, 68, 0xe1c8cc2014db751d),
            (1, 139, 0xda48d842b62a3623),
            (1, 13, 0x5812307dbfc4d911),
            (1, 56, 0x4b939d3570491a21),
            (1, 14, 0x962c28545849ffa9),
            (1, 44, 0x13063890f5ac98b5),
            (1, 114, 0x1430ea980a43f6c8),
            (1, 12, 0xdc66f520ba15614a),
            (1, 33, 0x2b5817d98fe35bdf),
            (1, 184, 0x3ecf530f4da846f3),
            (1, 31, 0xb82e3e78779fb50d),
            (1, 13, 0x3e1cb57db112eac0),
            (1, 172, 0x10d6240f86ad893f),
            (1, 14, 0xb029a3546703bfa8),
            (1, 90, 0x14b050923c1acf4d),
            (1, 36, 0x8d7cef1ea75f2291),
            (1, 160, 0x8ef062dc901f018a),
            (1, 148, 0xdac54c9213d88a36),
            (1, 13, 0x46bfde7db5f5f267),
            (1, 40, 0x841aa64d7db01c11),
            (1, 14, 0xa78c7a54622523af),
            (1, 135, 0xb76817c813cd3caa),
            (1, 43, 0xce1639ebd8706484),
            (1, 123, 0xf2f3103fbfea86eb),
            (1, 40, 0x81e4c0ba5c40174c),
            (1, 193, 0x087bb23c3a695c5a),
            (1, 12, 0x6fe07243eaca354e),
            (1, 13, 0x7215ab7dce8304be),
            (1, 111, 0x58a62c245d15a32f),
            (1, 14, 0xc189f55470dee3ae),
            (1, 99, 0x934a4b543acca988),
            (1, 16, 0xee3697ef520fe4c4),
            (1, 169, 0x96e7750f51010fb2),
            (1, 48, 0x0563ebed464e5016),
            (1, 49, 0x34370e36153231e0),
            (1, 87, 0xbc31e4ed7e69b4fc),
            (1, 13, 0x7a9cd47dd34d91ad),
            (1, 75, 0x50ab49e94f406af0),
            (1, 14, 0xb8b6cc546bd2b845),
            (1, 12, 0x6d87b2d4af63af31),
            (1, 62, 0x38f64d286cfb3f4b),
            (1, 55, 0x8722adf79ee8b92d),
            (1, 50, 0xce579dda32ceabdf),
            (1, 120, 0xfe76626797ab1dd2),
            (1, 13, 0x60a7597dc49ba35c),
            (1, 57, 0xecdca87d4f50ffb1),
            (1, 14, 0xd2b447547a8c7844),
            (1, 37, 0x1a3f94c1f9bc0a1b),
            (1, 12, 0x64ceda7ac32a9a91),
            (1, 178, 0xc9b81bf30a1e8a2d),
        ],
    ),
    (
        128,
        false,
        2000,
        &[
            (83, 2661, 0xa8756c97414693cc),
            (95, 3012, 0xe2da8d014ff4197b),
            (36, 1094, 0x5e59418b94b190ac),
            (116, 3491, 0xd60ca9face78f50e),
            (114, 3326, 0xb3b0592a5e09ff53),
            (66, 1902, 0x5d37a2df5f892c19),
            (110, 3258, 0x5dfb3ac0aa88e4a1),
            (116, 3135, 0x420c3a8234028d73),
            (27, 800, 0xd2eb989c67fa47a3),
            (114, 3219, 0xc92f2d69ebe085eb),
            (122, 3545, 0xa9414f20e4e5a6e3),
            (21, 433, 0xdad3914c4fbad019),
            (114, 3242, 0x7ce0d388795f537d),
            (128, 4025, 0x250346f4853c5fed),
            (42, 1051, 0x3e0bd8f73bf66892),
            (114, 3614, 0x78a8254c904debfc),
            (114, 3515, 0x40cb9a15495aae48),
            (124, 3780, 0x211defe57b15f6e7),
            (19, 667, 0xa8b4e0db6ae27a96),
            (114, 3551, 0x83e5277375f1fa02),
            (85, 2446, 0xf0282a9ad11ae92d),
            (45, 1585, 0xa50e350a902bea23),
            (125, 3989, 0x283292f4e36a40a2),
        ],
    ),
];

fn fnv(b: &[u8]) -> u64 {
    let mut h = 0xcbf29ce484222325u64;
    for &c in b {
        h ^= c as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

fn value(i: usize, big: bool) -> Vec<u8> {
    if i.is_multiple_of(3) {
        return (i as i64 * 7919 - 10000).to_string().into_bytes();
    }
    let n = if big && i % 5 == 1 {
        (i * 131) % 9000
    } else {
        i % 70
    };
    let mut v = vec![b'v'; n];
    v.extend_from_slice(i.to_string().as_bytes());
    v
}

fn find_index(ql: &Quicklist, v: &[u8]) -> Option<i64> {
    ql.iter().position(|x| x.eq_bytes(v)).map(|i| i as i64)
}

/// The command sequence the fixture generator sent to Redis.
fn scenario(fill: i32, big: bool, n: usize) -> Quicklist {
    let mut ql = Quicklist::new(fill, 0);
    for i in 0..n {
        if i % 4 == 3 {
            ql.push_head(&value(i, big));
        } else {
            ql.push_tail(&value(i, big));
        }
    }
    for j in 0..60usize {
        let piv = value((j * 37) % n, big);
        let mut ins = format!("ins{j}").into_bytes();
        ins.extend(std::iter::repeat_n(b'w', j * 3));
        let idx = find_index(&ql, &piv).unwrap();
        if j % 2 == 1 {
            ql.insert_before(idx, &ins);
        } else {
            ql.insert_after(idx, &ins);
        }
    }
    let ln = ql.len();
    for j in 0..20usize {
        assert!(ql.set(((j * 101) % ln) as i64, format!("set{j}").as_bytes()));
    }
    for j in 0..10usize {
        ql.remove_matching(&value((j * 13) % n, big), j as i64 - 5);
    }
    ql.trim(3, -4);
    ql
}

#[test]
fn node_layouts_match_redis() {
    for &(fill, big, n, want) in REDIS_LAYOUTS {
        let ql = scenario(fill, big, n);
        let got: Vec<(u16, usize, u64)> = ql
            .nodes()
            .map(|nd| {
                let b = nd.listpack().as_bytes();
                (u16::from_le_bytes([b[4], b[5]]), b.len(), fnv(b))
            })
            .collect();
        assert_eq!(got, want, "fill {fill} big {big} n {n}");
    }
}

#[test]
fn basics() {
    let mut ql = Quicklist::new(-2, 0);
    assert!(ql.pop_head().is_none() && ql.pop_tail().is_none() && ql.index(0).is_none());
    for i in 0..1000 {
        ql.push_tail(format!("{i}").as_bytes());
        ql.push_head(&[b'p'; 30]);
    }
    ql.delete_range(0, 1000);
    assert_eq!(ql.len(), 1000);
    assert!(ql.node_count() > 1);
    assert_eq!(ql.index(0), Some(LpValue::Int(0)));
    assert_eq!(ql.index(-1), Some(LpValue::Int(999)));
    assert_eq!(ql.index(500), Some(LpValue::Int(500)));
    assert_eq!(ql.index(1000), None);
    assert_eq!(ql.index(-1001), None);
    let r: Vec<Vec<u8>> = ql.range(-3, 5000).map(|v| v.to_vec()).collect();
    assert_eq!(r, vec![b"997".to_vec(), b"998".to_vec(), b"999".to_vec()]);
    assert_eq!(ql.range(5, 2).count(), 0);
    assert_eq!(ql.pop_head().unwrap(), b"0");
    assert_eq!(ql.pop_tail().unwrap(), b"999");
    assert_eq!(ql.iter_rev().count(), 998);
    let q2 = Quicklist::new(-100, -3);
    assert_eq!((q2.fill(), q2.compress_depth()), (-5, 0));
}

fn check(
    ql: &Quicklist,
    model: &VecDeque<Vec<u8>>,
    pushes_only: bool,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(ql.len(), model.len());
    let got: Vec<Vec<u8>> = ql.iter().map(|v| v.to_vec()).collect();
    prop_assert_eq!(&got[..], &model.iter().cloned().collect::<Vec<_>>()[..]);
    let rev: Vec<Vec<u8>> = ql.iter_rev().map(|v| v.to_vec()).collect();
    prop_assert_eq!(rev.len(), model.len());
    prop_assert!(rev.iter().rev().eq(got.iter()));
    let mut total = 0;
    for nd in ql.nodes() {
        prop_assert!(nd.count() > 0);
        prop_assert_eq!(nd.count(), nd.listpack().len());
        prop_assert!(nd.listpack().validate());
        total += nd.count();
        let fill = ql.fill();
        if fill > 0 {
            prop_assert!(nd.count() <= fill as usize);
        }
        if pushes_only && nd.count() > 1 {
            let lim = if fill < 0 {
                OPTIMIZATION_LEVEL[(-fill - 1) as usize]
            } else {
                SIZE_SAFETY_LIMIT
            };
            prop_assert!(
                nd.listpack().bytes_len() <= lim,
                "{} > {}",
                nd.listpack().bytes_len(),
                lim
            );
        }
    }
    prop_assert_eq!(total, ql.len());
    Ok(())
}

#[derive(Debug, Clone)]
enum Op {
    PushHead(Vec<u8>),
    PushTail(Vec<u8>),
    PopHead,
    PopTail,
    Insert(usize, Vec<u8>, bool),
    Set(i64, Vec<u8>),
    DelRange(i64, i64),
    Trim(i64, i64),
    Rem(usize, i64),
    Index(i64),
    Range(i64, i64),
}

fn value_s() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => (0i64..300).prop_map(|v| v.to_string().into_bytes()),
        3 => (0usize..40, 0u8..4).prop_map(|(n, c)| vec![b'a' + c; n]),
        1 => (0usize..9000).prop_map(|n| vec![b'q'; n]),
    ]
}

fn op_s(pushes_only: bool) -> BoxedStrategy<Op> {
    if pushes_only {
        return prop_oneof![
            value_s().prop_map(Op::PushHead),
            value_s().prop_map(Op::PushTail),
            Just(Op::PopHead),
            Just(Op::PopTail),
        ]
        .boxed();
    }
    prop_oneof![
        4 => value_s().prop_map(Op::PushHead),
        4 => value_s().prop_map(Op::PushTail),
        1 => Just(Op::PopHead),
        1 => Just(Op::PopTail),
        4 => (any::<usize>(), value_s(), any::<bool>()).prop_map(|(i, v, a)| Op::Insert(i, v, a)),
        2 => (-50i64..50, value_s()).prop_map(|(i, v)| Op::Set(i, v)),
        1 => (-50i64..50, -2i64..20).prop_map(|(s, c)| Op::DelRange(s, c)),
        1 => (-60i64..60, -60i64..60).prop_map(|(s, e)| Op::Trim(s, e)),
        1 => (any::<usize>(), -3i64..3).prop_map(|(i, c)| Op::Rem(i, c)),
        1 => (-60i64..60).prop_map(Op::Index),
        1 => (-60i64..60, -60i64..60).prop_map(|(s, e)| Op::Range(s, e)),
    ]
    .boxed()
}

fn norm(i: i64, len: usize) -> Option<usize> {
    let j = if i < 0 { len as i64 + i } else { i };
    (j >= 0 && (j as usize) < len).then_some(j as usize)
}

fn run(fill: i32, ops: Vec<Op>, pushes_only: bool) -> Result<(), TestCaseError> {
    let mut ql = Quicklist::new(fill, 0);
    let mut m: VecDeque<Vec<u8>> = VecDeque::new();
    for op in ops {
        match op {
            Op::PushHead(v) => {
                ql.push_head(&v);
                m.push_front(v);
            }
            Op::PushTail(v) => {
                ql.push_tail(&v);
                m.push_back(v);
            }
            Op::PopHead => prop_assert_eq!(ql.pop_head(), m.pop_front()),
            Op::PopTail => prop_assert_eq!(ql.pop_tail(), m.pop_back()),
            Op::Insert(i, v, after) => {
                if m.is_empty() {
                    prop_assert!(!ql.insert_after(0, &v));
                    continue;
                }
                let i = i % m.len();
                if after {
                    ql.insert_after(i as i64, &v);
                    m.insert(i + 1, v);
                } else {
                    ql.insert_before(i as i64, &v);
                    m.insert(i, v);
                }
            }
            Op::Set(i, v) => {
                let ok = ql.set(i, &v);
                prop_assert_eq!(ok, norm(i, m.len()).is_some());
                if let Some(j) = norm(i, m.len()) {
                    m[j] = v;
                }
            }
            Op::DelRange(s, c) => {
                let did = ql.delete_range(s, c);
                match norm(s, m.len()) {
                    Some(j) if c > 0 => {
                        let end = (j + c as usize).min(m.len());
                        m.drain(j..end);
                        prop_assert!(did);
                    }
                    _ => prop_assert!(!did),
                }
            }
            Op::Trim(s, e) => {
                let len = m.len() as i64;
                let mut s2 = if s < 0 { len + s } else { s };
                let mut e2 = if e < 0 { len + e } else { e };
                if s2 < 0 {
                    s2 = 0;
                }
                if e2 >= len {
                    e2 = len - 1;
                }
                ql.trim(s, e);
                if s2 > e2 || s2 >= len {
                    m.clear();
                } else {
                    m = m
                        .iter()
                        .skip(s2 as usize)
                        .take((e2 - s2 + 1) as usize)
                        .cloned()
                        .collect();
                }
            }
            Op::Rem(i, c) => {
                if m.is_empty() {
                    continue;
                }
                let v = m[i % m.len()].clone();
                let limit = c.unsigned_abs() as usize;
                let mut idx: Vec<usize> = (0..m.len()).filter(|&k| m[k] == v).collect();
                if c < 0 {
                    idx.reverse();
                }
                if limit > 0 {
                    idx.truncate(limit);
                }
                idx.sort_unstable();
                for k in idx.iter().rev() {
                    m.remove(*k);
                }
                prop_assert_eq!(ql.remove_matching(&v, c), idx.len());
            }
            Op::Index(i) => {
                prop_assert_eq!(
                    ql.index(i).map(|v| v.to_vec()),
                    norm(i, m.len()).map(|j| m[j].clone())
                );
            }
            Op::Range(s, e) => {
                let len = m.len() as i64;
                let mut s2 = if s < 0 { len + s } else { s };
                let mut e2 = if e < 0 { len + e } else { e };
                if s2 < 0 {
                    s2 = 0;
                }
                if e2 >= len {
                    e2 = len - 1;
                }
                let want: Vec<Vec<u8>> = if s2 > e2 || s2 >= len {
                    vec![]
                } else {
                    m.iter()
                        .skip(s2 as usize)
                        .take((e2 - s2 + 1) as usize)
                        .cloned()
                        .collect()
                };
                let got: Vec<Vec<u8>> = ql.range(s, e).map(|v| v.to_vec()).collect();
                prop_assert_eq!(got, want);
            }
        }
        check(&ql, &m, pushes_only)?;
    }
    Ok(())
}

fn fill_s() -> impl Strategy<Value = i32> {
    prop_oneof![
        Just(1),
        Just(2),
        Just(5),
        Just(128),
        Just(-1),
        Just(-2),
        Just(-5)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn prop_matches_model(fill in fill_s(), ops in proptest::collection::vec(op_s(false), 1..200)) {
        run(fill, ops, false)?;
    }

    #[test]
    fn prop_push_pop_respects_limits(fill in fill_s(), ops in proptest::collection::vec(op_s(true), 1..300)) {
        run(fill, ops, true)?;
    }
}

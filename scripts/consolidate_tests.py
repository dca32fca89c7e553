#!/usr/bin/env python3
"""Makes every tests/*.rs a module of one test binary, tests/integration.rs
(one compile and link instead of ~60 on the 2-core CI machine).

Run `python3 scripts/consolidate_tests.py .` after adding a test file: it
lists the file in tests/integration.rs, turns its `mod common;` into
`use crate::common;` and lifts its tests/support drivers to the crate root.
The generated test `every_test_file_is_a_module` fails when a file under
tests/ is in no test binary.
"""
import os, re, sys
root = sys.argv[1]
tests = os.path.join(root, 'tests')
# Binaries of their own: the soak runs alone against a release build in CI.
SEPARATE = ['hostile_soak']
names = sorted(f[:-3] for f in os.listdir(tests)
               if f.endswith('.rs') and f != 'integration.rs' and f[:-3] not in SEPARATE)
support = {}
for n in names:
    p = os.path.join(tests, n + '.rs')
    s = open(p).read()
    s2 = re.sub(r'^mod common;$', 'use crate::common;', s, flags=re.M)
    # tests/support drivers refer to each other as crate::x (as the fuzz
    # targets declare them): they move to the crate root.
    def lift(m):
        support[m.group(2)] = m.group(1)
        rest = s2.replace(m.group(0), '')
        used = re.search(r'\b%s\b' % m.group(2), rest)
        return ('use crate::%s;' % m.group(2)) if used else ''
    s2 = re.sub(r'^#\[path = "(support/\w+\.rs)"\]\n(?:pub )?mod (\w+);$', lift, s2, flags=re.M)
    # Already lifted by an earlier run.
    for m in re.finditer(r'^use crate::(\w+);$', s2, flags=re.M):
        if os.path.exists(os.path.join(tests, 'support', m.group(1) + '.rs')):
            support[m.group(1)] = 'support/%s.rs' % m.group(1)
    if s2 != s:
        open(p, 'w').write(s2)
    for m in re.finditer(r'^(?:pub )?mod (\w+);', s2, flags=re.M):
        # Only #[path] modules are allowed besides common.
        prev = s2[:m.start()].rstrip().splitlines()[-1] if m.start() else ''
        if not prev.startswith('#[path'):
            print('WARNING: %s.rs declares mod %s without #[path]' % (n, m.group(1)))
with open(os.path.join(tests, 'integration.rs'), 'w') as f:
    f.write('//! Every integration test in one binary: each file under tests/ is a\n'
            '//! module here (one compile and link instead of one per file, which\n'
            '//! matters on a 2-core CI machine). Run one file\'s tests with\n'
            '//! `cargo test --test integration <file>::`.\n\n'
            '// Tuple-heavy test-case types read better spelled out.\n'
            '#![allow(clippy::type_complexity)]\n\n'
            'mod common;\n')
    for m in sorted(support):
        f.write('#[path = "%s"]\nmod %s;\n' % (support[m], m))
    f.write('\n')
    for n in names:
        f.write('mod %s;\n' % n)
    f.write('''
/// A file under tests/ that no test binary compiles would never run.
#[test]
fn every_test_file_is_a_module() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests");
    let root = include_str!("integration.rs");
    let separate = [%s];
    for e in std::fs::read_dir(dir).expect("tests/") {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        let Some(m) = name.strip_suffix(".rs") else { continue };
        if m == "integration" || separate.contains(&m) {
            continue;
        }
        assert!(
            root.lines().any(|l| l == format!("mod {m};")),
            "tests/{name} is in no test binary: run python3 scripts/consolidate_tests.py ."
        );
    }
}
''' % ', '.join('"%s"' % n for n in SEPARATE))
cargo = os.path.join(root, 'Cargo.toml')
c = open(cargo).read()
if 'autotests' not in c:
    c = c.replace('[package]\n', '[package]\n# The integration tests are one binary (tests/integration.rs).\nautotests = false\n', 1)
    c += '\n[[test]]\nname = "integration"\npath = "tests/integration.rs"\n'
    for n in SEPARATE:
        c += '\n[[test]]\nname = "%s"\npath = "tests/%s.rs"\n' % (n, n)
    open(cargo, 'w').write(c)
print('modules:', len(names))
# Keep `cargo fmt --check` (a CI gate) green.
import subprocess
try:
    subprocess.run(['rustfmt', '--edition', '2021', os.path.join(tests, 'integration.rs')], check=False)
except FileNotFoundError:
    print('note: rustfmt not found; run cargo fmt')

//! Host behaviour on hand-written modules: fuel, memory limits, aborts, read-only queries.

use super::*;
use std::sync::Arc;

struct MapReader(BTreeMap<(String, Vec<u8>), Vec<u8>>);

impl StateReader for MapReader {
    fn get(&self, contract_id: &str, key: &[u8]) -> Option<Vec<u8>> {
        self.0
            .get(&(contract_id.to_string(), key.to_vec()))
            .cloned()
    }
}

fn empty_reader() -> Arc<dyn StateReader> {
    Arc::new(MapReader(BTreeMap::new()))
}

fn context(fuel_limit: u64) -> CallContext {
    CallContext {
        contract_id: "test".into(),
        caller: [7; 32],
        block_height: 5,
        block_time_ms: 1_700_000_000_000,
        fuel_limit,
    }
}

const MODULE: &str = r#"
(module
  (import "rxchain" "storage_write" (func $write (param i32 i32 i32 i32)))
  (import "rxchain" "storage_read" (func $read (param i32 i32) (result i32)))
  (import "rxchain" "register_read" (func $register_read (param i32)))
  (import "rxchain" "set_return" (func $set_return (param i32 i32)))
  (import "rxchain" "abort" (func $abort (param i32 i32 i32 i32)))
  (import "rxchain" "emit_event" (func $emit (param i32 i32 i32 i32)))
  (import "rxchain" "refuse" (func $refuse (param i32 i32 i32 i32)))
  (import "rxchain" "sm3" (func $sm3 (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "key")
  (data (i32.const 16) "value")
  (data (i32.const 32) "not_found")
  (data (i32.const 48) "nothing here")
  ;; borsh Vec<String> with one topic "t:1": length 1, then length 3 and the bytes
  (data (i32.const 64) "\01\00\00\00\03\00\00\00t:1")
  (func (export "m_write")
    (call $write (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 5))
    (call $emit (i32.const 64) (i32.const 11) (i32.const 16) (i32.const 5)))
  (func (export "q_read")
    (if (i32.ge_s (call $read (i32.const 0) (i32.const 3)) (i32.const 0))
      (then
        (call $register_read (i32.const 128))
        (call $set_return (i32.const 128) (i32.const 5)))))
  (func (export "q_write")
    (call $write (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 5)))
  (func (export "m_write_then_abort")
    (call $write (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 5))
    (call $abort (i32.const 32) (i32.const 9) (i32.const 48) (i32.const 12)))
  (func (export "m_write_then_refuse")
    (call $write (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 5))
    (call $emit (i32.const 64) (i32.const 11) (i32.const 16) (i32.const 5))
    (call $refuse (i32.const 32) (i32.const 9) (i32.const 48) (i32.const 12))
    ;; Never reached: refuse does not return.
    (call $write (i32.const 16) (i32.const 5) (i32.const 0) (i32.const 3)))
  (func (export "m_loop") (loop $forever (br $forever)))
  (func (export "m_grow")
    (loop $again
      (br_if $again (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))))
  (func (export "m_hash_once")
    (call $sm3 (i32.const 0) (i32.const 65536) (i32.const 0)))
  (func (export "m_hash_forever")
    (loop $again
      (call $sm3 (i32.const 0) (i32.const 65536) (i32.const 0))
      (br $again)))
  (func (export "m_write_many") (local $i i32)
    (loop $again
      (i32.store (i32.const 200) (local.get $i))
      (call $write (i32.const 200) (i32.const 4) (i32.const 16) (i32.const 5))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $again)))
  (func (export "m_oversized_key")
    (call $write (i32.const 0) (i32.const 100000) (i32.const 16) (i32.const 5)))
)
"#;

fn host_with_module() -> (ContractHost, CodeHash) {
    let host = ContractHost::new(HostLimits::default(), None).expect("host");
    let code = wat::parse_str(MODULE).expect("valid wat");
    let hash = host.load(&code).expect("loads");
    (host, hash)
}

#[test]
fn successful_method_returns_writes_and_events() {
    let (host, hash) = host_with_module();
    let outcome = host
        .call(
            &hash,
            Entry::Method("write"),
            &context(1_000_000),
            vec![],
            empty_reader(),
        )
        .expect("call runs");
    assert_eq!(outcome.result, Ok(()));
    assert_eq!(
        outcome.writes.get(b"key".as_slice()),
        Some(&Some(b"value".to_vec()))
    );
    assert_eq!(outcome.events.len(), 1);
    assert_eq!(outcome.events[0].topics, vec!["t:1".to_string()]);
    assert!(outcome.fuel_used > 0);
}

#[test]
fn query_reads_state_through_the_register() {
    let (host, hash) = host_with_module();
    let mut map = BTreeMap::new();
    map.insert(("test".to_string(), b"key".to_vec()), b"hello".to_vec());
    let outcome = host
        .call(
            &hash,
            Entry::Query("read"),
            &context(1_000_000),
            vec![],
            Arc::new(MapReader(map)),
        )
        .expect("call runs");
    assert_eq!(outcome.result, Ok(()));
    assert_eq!(outcome.return_data, b"hello");
}

#[test]
fn query_may_not_write() {
    let (host, hash) = host_with_module();
    let outcome = host
        .call(
            &hash,
            Entry::Query("write"),
            &context(1_000_000),
            vec![],
            empty_reader(),
        )
        .expect("call runs");
    let failure = outcome.result.expect_err("write in a query fails");
    assert_eq!(failure.code, failure_code::HOST_LIMIT);
    assert!(outcome.writes.is_empty());
}

#[test]
fn abort_discards_writes_and_keeps_code_and_message() {
    let (host, hash) = host_with_module();
    let outcome = host
        .call(
            &hash,
            Entry::Method("write_then_abort"),
            &context(1_000_000),
            vec![],
            empty_reader(),
        )
        .expect("call runs");
    assert_eq!(
        outcome.result,
        Err(CallFailure {
            code: "not_found".into(),
            message: "nothing here".into()
        })
    );
    assert!(outcome.writes.is_empty());
}

#[test]
fn refusal_keeps_what_was_written_before_it() {
    let (host, hash) = host_with_module();
    let outcome = host
        .call(
            &hash,
            Entry::Method("write_then_refuse"),
            &context(1_000_000),
            vec![],
            empty_reader(),
        )
        .expect("call runs");
    assert_eq!(outcome.result, Ok(()));
    assert_eq!(
        outcome.refusal,
        Some(CallFailure {
            code: "not_found".into(),
            message: "nothing here".into()
        })
    );
    assert_eq!(outcome.writes.len(), 1, "the write after refuse never ran");
    assert_eq!(outcome.events.len(), 1);
}

#[test]
fn endless_loop_runs_out_of_fuel() {
    let (host, hash) = host_with_module();
    let outcome = host
        .call(
            &hash,
            Entry::Method("loop"),
            &context(200_000),
            vec![],
            empty_reader(),
        )
        .expect("call runs");
    assert_eq!(
        outcome.result.expect_err("loop fails").code,
        failure_code::OUT_OF_FUEL
    );
    assert_eq!(outcome.fuel_used, 200_000);
}

#[test]
fn host_work_is_charged_fuel_by_the_byte() {
    let (host, hash) = host_with_module();
    let call = |method: &str, fuel_limit: u64| {
        host.call(
            &hash,
            Entry::Method(method),
            &context(fuel_limit),
            vec![],
            empty_reader(),
        )
        .expect("call runs")
    };
    // One hash of 64 KiB costs its bytes, not the handful of instructions that ask for it.
    let once = call("hash_once", 10_000_000);
    assert_eq!(once.result, Ok(()));
    assert!(
        once.fuel_used >= abi::fuel::SM3_PER_BYTE * 65_536,
        "{}",
        once.fuel_used
    );
    // Hashing in a loop ends out of fuel after about limit / cost hashes, not after millions.
    let forever = call("hash_forever", 10_000_000);
    assert_eq!(
        forever.result.expect_err("runs out").code,
        failure_code::OUT_OF_FUEL
    );
    assert_eq!(forever.fuel_used, 10_000_000);
    // A write and an event are charged beyond their instructions too.
    let write = call("write", 1_000_000);
    assert!(
        write.fuel_used >= abi::fuel::STORAGE_WRITE + abi::fuel::EVENT + abi::fuel::EVENT_TOPIC,
        "{}",
        write.fuel_used
    );
    // Not enough fuel for the host work: out of fuel, nothing kept.
    let starved = call("write", 300);
    assert_eq!(
        starved.result.expect_err("no fuel").code,
        failure_code::OUT_OF_FUEL
    );
    assert!(starved.writes.is_empty());
}

#[test]
fn writes_per_call_are_bounded_whatever_the_fuel() {
    let (host, hash) = host_with_module();
    let outcome = host
        .call(
            &hash,
            Entry::Method("write_many"),
            &context(HostLimits::default().fuel_per_call_max),
            vec![],
            empty_reader(),
        )
        .expect("call runs");
    let failure = outcome.result.expect_err("stops at the bound");
    assert_eq!(
        failure.code,
        failure_code::HOST_LIMIT,
        "{}",
        failure.message
    );
    assert!(outcome.writes.is_empty());
    assert!(outcome.fuel_used < HostLimits::default().fuel_per_call_max);
}

#[test]
fn growing_memory_past_the_limit_fails_the_call() {
    let (host, hash) = host_with_module();
    let outcome = host
        .call(
            &hash,
            Entry::Method("grow"),
            &context(10_000_000),
            vec![],
            empty_reader(),
        )
        .expect("call runs");
    assert_eq!(
        outcome.result.expect_err("grow fails").code,
        failure_code::MEMORY_LIMIT
    );
}

#[test]
fn oversized_key_is_refused_by_the_host() {
    let (host, hash) = host_with_module();
    let outcome = host
        .call(
            &hash,
            Entry::Method("oversized_key"),
            &context(1_000_000),
            vec![],
            empty_reader(),
        )
        .expect("call runs");
    assert_eq!(
        outcome.result.expect_err("refused").code,
        failure_code::HOST_LIMIT
    );
}

#[test]
fn unknown_entry_and_unknown_code_are_host_errors() {
    let (host, hash) = host_with_module();
    assert!(matches!(
        host.call(
            &hash,
            Entry::Method("nope"),
            &context(1000),
            vec![],
            empty_reader()
        ),
        Err(HostError::UnknownEntry { .. })
    ));
    assert!(matches!(
        host.call(
            &[0; 32],
            Entry::Method("write"),
            &context(1000),
            vec![],
            empty_reader()
        ),
        Err(HostError::UnknownCode(_))
    ));
    assert_eq!(host.methods(&hash).unwrap().len(), 9);
}

#[test]
fn imports_outside_the_abi_do_not_link() {
    let host = ContractHost::new(HostLimits::default(), None).expect("host");
    let code = wat::parse_str(r#"(module (import "env" "clock" (func)))"#).unwrap();
    assert!(matches!(host.load(&code), Err(HostError::Link(_))));
}

#[test]
fn compiled_modules_are_cached_on_disk() {
    let dir = std::env::temp_dir().join(format!("rxchain-host-cache-{}", std::process::id()));
    let code = wat::parse_str(MODULE).unwrap();
    let hash = {
        let host = ContractHost::new(HostLimits::default(), Some(dir.clone())).unwrap();
        host.load(&code).unwrap()
    };
    let cached = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(cached, 1);
    let host = ContractHost::new(HostLimits::default(), Some(dir.clone())).unwrap();
    assert_eq!(host.load(&code).unwrap(), hash);
    let outcome = host
        .call(
            &hash,
            Entry::Method("write"),
            &context(1_000_000),
            vec![],
            empty_reader(),
        )
        .unwrap();
    assert_eq!(outcome.result, Ok(()));
    std::fs::remove_dir_all(&dir).unwrap();
}

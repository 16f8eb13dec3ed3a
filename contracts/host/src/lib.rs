//! The wasmtime host that runs rxchain contracts.
//!
//! A [`ContractHost`] owns one wasmtime [`Engine`] configured for determinism (fuel metering,
//! NaN canonicalization, no SIMD, no threads, memory and table limits through a resource
//! limiter) and a cache of compiled modules keyed by SM3 code hash. Each compiled module is kept
//! as an [`InstancePre`] so a call only instantiates (microseconds with the pooling allocator);
//! compiled artifacts can also be kept on disk, keyed by the engine's compatibility hash
//! (wasmtime version and configuration) and the code hash, so a
//! restarted node does not compile again.
//!
//! A call ([`ContractHost::call`]) runs one exported `m_<method>` or `q_<query>` function against
//! a [`StateReader`] and returns a [`CallOutcome`]: the writes and events it would make, its
//! return data and the fuel it used. The host never writes state itself: the node's executor
//! applies a successful outcome's writes, so a failed call (abort, trap, out of fuel, memory
//! limit) changes nothing by construction. The ABI is documented in `rxchain_contract_types::abi`.

mod imports;

use rxchain_contract_types::abi;
use sm3::{Digest, Sm3};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, InstancePre, Linker, Module,
    PoolingAllocationConfig, ResourceLimiter, Store, Trap,
};

/// SM3 digest of a contract's wasm bytes.
pub type CodeHash = [u8; 32];

/// SM3 of wasm bytes: the code hash that genesis and deploys name.
pub fn code_hash(code: &[u8]) -> CodeHash {
    Sm3::digest(code).into()
}

/// Errors of the host itself (as opposed to a contract failing, which is a [`CallOutcome`]).
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The bytes are not a valid wasm module for this engine's configuration.
    #[error("contract code does not compile: {0}")]
    Compile(String),
    /// The module imports something the host does not provide.
    #[error("contract code does not link: {0}")]
    Link(String),
    /// No module with this code hash was loaded.
    #[error("no contract code is loaded with hash {0}")]
    UnknownCode(String),
    /// The module exports no function of that name.
    #[error("contract has no {kind} named '{name}'")]
    UnknownEntry { kind: &'static str, name: String },
    /// The host could not create an instance for reasons outside the contract (e.g. every
    /// pooled instance slot is in use). Retrying later may succeed.
    #[error("cannot instantiate the contract now: {0}")]
    Instantiate(String),
    /// The wasmtime engine could not be configured.
    #[error("engine configuration: {0}")]
    Engine(String),
}

/// Resource limits of every call. Each is named with its unit.
#[derive(Clone, Debug)]
pub struct HostLimits {
    /// Fuel (roughly wasm instructions) one call may burn before it fails with `out_of_fuel`.
    pub fuel_per_call_max: u64,
    /// Largest linear memory one instance may have.
    pub memory_bytes_max: usize,
    /// Largest table one instance may have.
    pub table_elements_max: usize,
    /// Native stack wasm may use; deeper recursion traps.
    pub wasm_stack_bytes_max: usize,
    /// Instances that may exist at once (pooling allocator slots).
    pub concurrent_instances_max: u32,
}

impl Default for HostLimits {
    fn default() -> Self {
        HostLimits {
            // The trace contract's largest declared calls (a counted receive of 1,000 packs) use
            // about 52M with host work charged; twice the old 50M leaves them room.
            fuel_per_call_max: 100_000_000,
            memory_bytes_max: 16 * 1024 * 1024,
            table_elements_max: 4096,
            wasm_stack_bytes_max: 512 * 1024,
            concurrent_instances_max: 64,
        }
    }
}

/// Bytes of a freed instance's linear memory restored in place rather than returned to the
/// kernel (covers a system contract's stack and working heap).
const MEMORY_KEEP_RESIDENT_BYTES: usize = 2 * 1024 * 1024;
/// Bytes of a freed instance's table restored in place.
const TABLE_KEEP_RESIDENT_BYTES: usize = 64 * 1024;

/// Read access to committed (or block-pending) contract storage.
pub trait StateReader: Send + Sync {
    fn get(&self, contract_id: &str, key: &[u8]) -> Option<Vec<u8>>;
}

/// Which export a call runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry<'a> {
    /// `m_<name>`: may write storage and emit events.
    Method(&'a str),
    /// `q_<name>`: read-only; a write traps.
    Query(&'a str),
}

impl Entry<'_> {
    fn export_name(&self) -> String {
        match self {
            Entry::Method(name) => format!("{}{name}", abi::METHOD_PREFIX),
            Entry::Query(name) => format!("{}{name}", abi::QUERY_PREFIX),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Entry::Method(_) => "method",
            Entry::Query(_) => "query",
        }
    }
}

/// The context of one call.
#[derive(Clone, Debug)]
pub struct CallContext {
    pub contract_id: String,
    pub caller: [u8; 32],
    pub block_height: u64,
    pub block_time_ms: u64,
    /// At most [`HostLimits::fuel_per_call_max`]; a lower value is used as given.
    pub fuel_limit: u64,
}

/// An event a contract emitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractEvent {
    pub topics: Vec<String>,
    pub data: Vec<u8>,
}

/// Why a call failed. `code` is stable (an `abi::error_code`, or one of the host's own:
/// `out_of_fuel`, `memory_limit`, `trap`, `host_limit`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallFailure {
    pub code: String,
    pub message: String,
}

/// The result of one call. On failure `writes` and `events` are empty. A refused call
/// (`refuse`) has `result == Ok(())` with `refusal` set: its writes and events are kept, but the
/// operation it was asked for did not happen.
#[derive(Clone, Debug)]
pub struct CallOutcome {
    pub result: Result<(), CallFailure>,
    pub refusal: Option<CallFailure>,
    pub fuel_used: u64,
    /// Key → new value (`None` removes), sorted by key.
    pub writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    pub events: Vec<ContractEvent>,
    pub return_data: Vec<u8>,
}

/// Failure codes the host itself assigns.
pub mod failure_code {
    pub const OUT_OF_FUEL: &str = "out_of_fuel";
    pub const MEMORY_LIMIT: &str = "memory_limit";
    pub const TRAP: &str = "trap";
    /// The contract broke an ABI limit (key too long, too many events, write in a query…).
    pub const HOST_LIMIT: &str = "host_limit";
}

/// Per-call state that host functions see through the wasmtime `Caller`.
pub(crate) struct CallState {
    pub(crate) contract_id: String,
    pub(crate) caller: [u8; 32],
    pub(crate) block_height: u64,
    pub(crate) block_time_ms: u64,
    pub(crate) read_only: bool,
    pub(crate) input: Vec<u8>,
    pub(crate) register: Vec<u8>,
    pub(crate) reader: Arc<dyn StateReader>,
    pub(crate) writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Calls of `storage_write` and `storage_remove` so far, and the bytes they wrote.
    pub(crate) write_calls: usize,
    pub(crate) write_bytes: usize,
    pub(crate) events: Vec<ContractEvent>,
    pub(crate) return_data: Vec<u8>,
    /// Set when the contract called `abort` or broke an ABI limit; the trap that follows is
    /// reported with this code and message rather than as a generic trap.
    pub(crate) failure: Option<CallFailure>,
    /// Set when the contract called `refuse`: the call stops, keeping its writes and events.
    pub(crate) refusal: Option<CallFailure>,
    memory_bytes_max: usize,
    table_elements_max: usize,
    memory_limit_hit: bool,
}

impl ResourceLimiter for CallState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes_max {
            self.memory_limit_hit = true;
            return Err(wasmtime::Error::msg(format!(
                "memory would grow to {desired} bytes, over the limit of {} bytes",
                self.memory_bytes_max
            )));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements_max {
            self.memory_limit_hit = true;
            return Err(wasmtime::Error::msg(format!(
                "table would grow to {desired} elements, over the limit of {}",
                self.table_elements_max
            )));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        1
    }
}

/// The error a host function returns to stop the contract; the details are in
/// [`CallState::failure`].
#[derive(Debug)]
pub(crate) struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("contract stopped by the host")
    }
}

impl std::error::Error for Stop {}

struct Compiled {
    pre: InstancePre<CallState>,
    exports: Vec<String>,
}

/// Runs contracts. Cheap to share behind an `Arc`; calls may run from several threads.
pub struct ContractHost {
    engine: Engine,
    linker: Linker<CallState>,
    compiled: Mutex<HashMap<CodeHash, Arc<Compiled>>>,
    limits: HostLimits,
    module_cache_dir: Option<PathBuf>,
    engine_fingerprint: u64,
}

impl std::fmt::Debug for ContractHost {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ContractHost")
            .field("limits", &self.limits)
            .field("module_cache_dir", &self.module_cache_dir)
            .finish()
    }
}

impl ContractHost {
    /// A host with the given limits. `module_cache_dir`, when set, keeps compiled modules on
    /// disk (a folder the node owns; nothing else may write there, since artifacts are trusted).
    pub fn new(limits: HostLimits, module_cache_dir: Option<PathBuf>) -> Result<Self, HostError> {
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .cranelift_nan_canonicalization(true)
            .wasm_simd(false)
            .wasm_relaxed_simd(false)
            .wasm_multi_memory(false)
            .wasm_bulk_memory(true)
            .max_wasm_stack(limits.wasm_stack_bytes_max);
        let mut pooling = PoolingAllocationConfig::default();
        pooling
            .total_core_instances(limits.concurrent_instances_max)
            .total_memories(limits.concurrent_instances_max)
            .total_tables(limits.concurrent_instances_max)
            .max_memory_size(limits.memory_bytes_max)
            .table_elements(limits.table_elements_max)
            // A call's instance is freed right after it runs. Resetting its slot with `madvise`
            // made every call pay for page faults on the next use and for TLB shootdowns on
            // the other cores (about a tenth of a 4-node cluster's CPU); instead the pages a
            // call dirtied are found with PAGEMAP_SCAN (Linux 6.7+, ignored elsewhere) and
            // restored in place, up to these sizes, so they stay resident.
            .pagemap_scan(wasmtime::Enabled::Auto)
            .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT_BYTES)
            .table_keep_resident(TABLE_KEEP_RESIDENT_BYTES);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        let engine = Engine::new(&config).map_err(|error| HostError::Engine(error.to_string()))?;
        let mut linker = Linker::new(&engine);
        imports::define(&mut linker).map_err(|error| HostError::Engine(error.to_string()))?;
        if let Some(dir) = &module_cache_dir {
            std::fs::create_dir_all(dir)
                .map_err(|error| HostError::Engine(format!("{}: {error}", dir.display())))?;
        }
        Ok(ContractHost {
            engine_fingerprint: engine_fingerprint(&engine),
            engine,
            linker,
            compiled: Mutex::new(HashMap::new()),
            limits,
            module_cache_dir,
        })
    }

    pub fn limits(&self) -> &HostLimits {
        &self.limits
    }

    /// Compiles `code` (or takes it from the cache) and returns its code hash.
    pub fn load(&self, code: &[u8]) -> Result<CodeHash, HostError> {
        let hash = code_hash(code);
        if self
            .compiled
            .lock()
            .expect("cache lock")
            .contains_key(&hash)
        {
            return Ok(hash);
        }
        let module = self.compile(&hash, code)?;
        let pre = self
            .linker
            .instantiate_pre(&module)
            .map_err(|error| HostError::Link(error.to_string()))?;
        let exports = module
            .exports()
            .map(|export| export.name().to_string())
            .collect();
        self.compiled
            .lock()
            .expect("cache lock")
            .insert(hash, Arc::new(Compiled { pre, exports }));
        Ok(hash)
    }

    /// True when the code with this hash is loaded.
    pub fn is_loaded(&self, hash: &CodeHash) -> bool {
        self.compiled.lock().expect("cache lock").contains_key(hash)
    }

    /// The method names (`m_` prefix removed) a loaded module exports.
    pub fn methods(&self, hash: &CodeHash) -> Result<Vec<String>, HostError> {
        self.exports_with_prefix(hash, abi::METHOD_PREFIX)
    }

    /// The query names (`q_` prefix removed) a loaded module exports.
    pub fn queries(&self, hash: &CodeHash) -> Result<Vec<String>, HostError> {
        self.exports_with_prefix(hash, abi::QUERY_PREFIX)
    }

    fn exports_with_prefix(&self, hash: &CodeHash, prefix: &str) -> Result<Vec<String>, HostError> {
        let compiled = self.compiled_for(hash)?;
        Ok(compiled
            .exports
            .iter()
            .filter_map(|name| name.strip_prefix(prefix).map(str::to_string))
            .collect())
    }

    fn compiled_for(&self, hash: &CodeHash) -> Result<Arc<Compiled>, HostError> {
        self.compiled
            .lock()
            .expect("cache lock")
            .get(hash)
            .cloned()
            .ok_or_else(|| HostError::UnknownCode(hex(hash)))
    }

    fn cache_path(&self, hash: &CodeHash) -> Option<PathBuf> {
        let dir = self.module_cache_dir.as_ref()?;
        // Artifacts are only valid for the wasmtime build and engine configuration that made
        // them: wasmtime's compatibility hash covers both, so an upgrade or a changed limit
        // compiles afresh instead of loading a stale artifact (which wasmtime would refuse).
        Some(dir.join(format!(
            "engine-{:016x}-{}.cwasm",
            self.engine_fingerprint,
            hex(hash)
        )))
    }

    fn compile(&self, hash: &CodeHash, code: &[u8]) -> Result<Module, HostError> {
        if let Some(path) = self.cache_path(hash)
            && path.exists()
        {
            // SAFETY: the cache folder belongs to this node, and wasmtime refuses artifacts from
            // another version or configuration; a corrupt file falls back to compiling.
            #[allow(unsafe_code)]
            let cached = unsafe { Module::deserialize_file(&self.engine, &path) };
            if let Ok(module) = cached {
                return Ok(module);
            }
        }
        let module = Module::new(&self.engine, code)
            .map_err(|error| HostError::Compile(error.to_string()))?;
        if let Some(path) = self.cache_path(hash)
            && let Ok(bytes) = module.serialize()
        {
            // A failed cache write only costs a compile on the next start.
            let temporary = path.with_extension("tmp");
            if std::fs::write(&temporary, bytes).is_ok() {
                let _ = std::fs::rename(&temporary, &path);
            }
        }
        Ok(module)
    }

    /// Runs one export of the loaded module `hash`. Host errors (unknown code or entry) are
    /// `Err`; everything the contract does wrong is a failed [`CallOutcome`].
    pub fn call(
        &self,
        hash: &CodeHash,
        entry: Entry<'_>,
        context: &CallContext,
        input: Vec<u8>,
        reader: Arc<dyn StateReader>,
    ) -> Result<CallOutcome, HostError> {
        let compiled = self.compiled_for(hash)?;
        let export = entry.export_name();
        if !compiled.exports.contains(&export) {
            return Err(HostError::UnknownEntry {
                kind: entry.kind(),
                name: export,
            });
        }
        let state = CallState {
            contract_id: context.contract_id.clone(),
            caller: context.caller,
            block_height: context.block_height,
            block_time_ms: context.block_time_ms,
            read_only: matches!(entry, Entry::Query(_)),
            input,
            register: Vec::new(),
            reader,
            writes: BTreeMap::new(),
            write_calls: 0,
            write_bytes: 0,
            events: Vec::new(),
            return_data: Vec::new(),
            failure: None,
            refusal: None,
            memory_bytes_max: self.limits.memory_bytes_max,
            table_elements_max: self.limits.table_elements_max,
            memory_limit_hit: false,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| state);
        let fuel_limit = context.fuel_limit.min(self.limits.fuel_per_call_max);
        store
            .set_fuel(fuel_limit)
            .expect("fuel metering is enabled in the engine configuration");

        let instance = match compiled.pre.instantiate(&mut store) {
            Ok(instance) => Ok(instance),
            // A module whose own initial memory breaks the limit fails the same way everywhere:
            // a contract failure.
            Err(error) if store.data().memory_limit_hit => Err(error),
            // Anything else (an exhausted instance pool, an out-of-memory host) says nothing
            // about the contract and could differ between nodes: the caller must not turn it
            // into a receipt.
            Err(error) => return Err(HostError::Instantiate(error.to_string())),
        };
        let run = instance.and_then(|instance| {
            let function = instance.get_typed_func::<(), ()>(&mut store, &export)?;
            function.call(&mut store, ())
        });
        let fuel_left = store.get_fuel().unwrap_or(0);
        let fuel_used = fuel_limit - fuel_left;
        let state = store.into_data();
        let result = match run {
            Ok(()) => Ok(()),
            Err(_) if state.refusal.is_some() && state.failure.is_none() => Ok(()),
            Err(error) => Err(classify_failure(error, &state, fuel_left)),
        };
        Ok(match result {
            Ok(()) => CallOutcome {
                result: Ok(()),
                refusal: state.refusal,
                fuel_used,
                writes: state.writes,
                events: state.events,
                return_data: state.return_data,
            },
            Err(failure) => CallOutcome {
                result: Err(failure),
                refusal: None,
                fuel_used,
                writes: BTreeMap::new(),
                events: Vec::new(),
                return_data: Vec::new(),
            },
        })
    }
}

fn classify_failure(error: wasmtime::Error, state: &CallState, fuel_left: u64) -> CallFailure {
    if let Some(failure) = &state.failure {
        return failure.clone();
    }
    if state.memory_limit_hit {
        return CallFailure {
            code: failure_code::MEMORY_LIMIT.into(),
            message: error.to_string(),
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => CallFailure {
            code: failure_code::OUT_OF_FUEL.into(),
            message: "the call used all of its fuel".into(),
        },
        Some(trap) => CallFailure {
            code: failure_code::TRAP.into(),
            message: trap.to_string(),
        },
        None if fuel_left == 0 => CallFailure {
            code: failure_code::OUT_OF_FUEL.into(),
            message: "the call used all of its fuel".into(),
        },
        None => CallFailure {
            code: failure_code::TRAP.into(),
            message: format!("{error:#}"),
        },
    }
}

/// A fingerprint of the engine's wasmtime version and configuration.
fn engine_fingerprint(engine: &Engine) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests;

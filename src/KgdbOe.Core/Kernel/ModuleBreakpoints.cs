using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;

namespace KgdbOe.Kernel
{
    /// <summary>
    /// Breakpoints on functions of modules by name, loaded or not. A module that is not loaded yet gets a pending
    /// breakpoint and the client plants a breakpoint of its own on the kernel's module-load path: do_init_module()
    /// (kernel/module/main.c, noinline in 6.1 and 6.12), entered with the module's text and kallsyms in place and
    /// before its init function runs. At each hit (rdi = struct module *) the pending breakpoints of that module are
    /// planted from its own symbol table and the kernel goes on by itself; the hook is lifted once nothing is pending.
    /// One instance per connected target.
    /// </summary>
    public sealed class ModuleBreakpoints
    {
        /// <summary>The kernel function the hook is planted on.</summary>
        public const string LoadHookSymbol = "do_init_module";

        private readonly KernelDebugClient _client;
        private readonly Func<CancellationToken, Task<KernelContext>> _context;
        private readonly object _gate = new object(); // guards _hook
        private Breakpoint? _hook;

        /// <param name="client">The target.</param>
        /// <param name="context">The kernel's types, memory and symbols (loaded once by the caller).</param>
        public ModuleBreakpoints(KernelDebugClient client, Func<CancellationToken, Task<KernelContext>> context)
        {
            _client = client ?? throw new ArgumentNullException(nameof(client));
            _context = context ?? throw new ArgumentNullException(nameof(context));
        }

        /// <summary>A module was loaded and its pending breakpoints planted (or not: see Breakpoint.PlantError). Runs with the kernel stopped.</summary>
        public event Action<LoadedModuleSymbols>? ModuleLoaded;

        /// <summary>
        /// A breakpoint on <paramref name="symbol"/> of <paramref name="module"/>: planted now when the module is in
        /// <paramref name="loaded"/> (KeyNotFoundException when the module lacks the symbol), else pending.
        /// </summary>
        public async Task<Breakpoint> AddAsync(BreakpointKind kind, string module, string symbol, ModuleSymbolTable loaded, CancellationToken ct)
        {
            if (module == null) throw new ArgumentNullException(nameof(module));
            if (symbol == null) throw new ArgumentNullException(nameof(symbol));
            if (loaded == null) throw new ArgumentNullException(nameof(loaded));
            if (loaded.FindModule(module) is LoadedModuleSymbols symbols)
            {
                if (!symbols.TryGet(symbol, out ModuleSymbol s))
                    throw new KeyNotFoundException($"The module {module} has no symbol '{symbol}'.");
                return await _client.SetBreakpointAsync(kind, s.Address, 1, ct).ConfigureAwait(false);
            }
            KernelContext context = await _context(ct).ConfigureAwait(false);
            if (!context.TryGetSymbolAddress(LoadHookSymbol, out ulong hookAddress))
                throw new KeyNotFoundException($"The session's symbols have no {LoadHookSymbol}: a breakpoint in a module that is not loaded cannot wait for it.");
            Breakpoint pending = _client.AddPending(kind, module, symbol);
            bool plantHook;
            lock (_gate) plantHook = _hook == null;
            if (plantHook)
            {
                try
                {
                    Breakpoint hook = await _client.SetInternalBreakpointAsync(hookAddress, OnModuleLoadAsync, ct).ConfigureAwait(false);
                    lock (_gate) _hook = hook;
                }
                catch
                {
                    await _client.RemoveBreakpointAsync(pending, ct).ConfigureAwait(false);
                    throw;
                }
            }
            return pending;
        }

        /// <summary>At do_init_module's first instruction: plant what waits for this module, then go on.</summary>
        private async Task<bool> OnModuleLoadAsync(StopEvent stop, CancellationToken ct)
        {
            KernelContext context = await _context(ct).ConfigureAwait(false);
            RegisterSet registers = await _client.ReadRegistersAsync(null, ct).ConfigureAwait(false);
            if (!registers.TryGetValue("rdi", out Register? rdi) || rdi == null) return true;
            KernelObject module = await ModuleSymbolTable.ReadModuleObjectAsync(context, rdi.Value, ct).ConfigureAwait(false);
            string name = module.GetString("name");
            List<Breakpoint> waiting = _client.Breakpoints.Where(b => b.IsPending && b.Module == name).ToList();
            if (waiting.Count > 0)
            {
                LoadedModuleSymbols? symbols = await ModuleSymbolTable.ReadModuleAsync(context, module, ct).ConfigureAwait(false);
                foreach (Breakpoint bp in waiting)
                {
                    if (symbols != null && symbols.TryGet(bp.Symbol!, out ModuleSymbol s))
                        await _client.PlantPendingAsync(bp, s.Address, ct).ConfigureAwait(false);
                    else
                        bp.PlantError = $"The module {name} loaded without a symbol '{bp.Symbol}'.";
                }
                if (symbols != null) ModuleLoaded?.Invoke(symbols);
            }
            if (!_client.Breakpoints.Any(b => b.IsPending && b.PlantError == null))
            {
                Breakpoint? hook;
                lock (_gate) { hook = _hook; _hook = null; }
                if (hook != null) await _client.RemoveBreakpointAsync(hook, ct).ConfigureAwait(false);
            }
            return true;
        }
    }
}

using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Protocol;

namespace KgdbOe.Client
{
    public sealed partial class KernelDebugClient
    {
        public async Task<Breakpoint> SetBreakpointAsync(BreakpointKind kind, ulong address, int length, CancellationToken ct)
        {
            EnsureStopped("set a breakpoint");
            if (kind == BreakpointKind.Software || kind == BreakpointKind.Hardware) length = length <= 0 ? 1 : length;
            else if (length != 1 && length != 2 && length != 4 && length != 8)
                throw new ArgumentOutOfRangeException(nameof(length), length, $"A watchpoint covers 1, 2, 4 or 8 bytes (at {HexAddress(address)}).");
            else if (address % (ulong)length != 0)
                throw new ArgumentException($"A {length}-byte watchpoint needs an address aligned to {length} ({HexAddress(address)} is not).", nameof(address));
            if (!_dialect.SupportsKind(kind))
                throw new NotSupportedException($"{_dialect.Kind} does not support {kind} breakpoints (at {HexAddress(address)}).");
            Breakpoint bp;
            lock (_gate)
            {
                Breakpoint? same = _breakpoints.FirstOrDefault(b => !b.IsInternal && b.Kind == kind && b.Address == address && b.Length == length);
                if (same != null) return same;
                if (kind != BreakpointKind.Software && _dialect.HardwareSlots > 0 &&
                    _breakpoints.Count(b => b.Kind != BreakpointKind.Software) >= _dialect.HardwareSlots)
                    throw new InvalidOperationException($"All {_dialect.HardwareSlots} debug registers are in use; remove a hardware breakpoint or watchpoint before adding one at {HexAddress(address)}.");
                bp = new Breakpoint(_nextBreakpointId++, kind, address, length);
            }
            await SendBreakpointPacketAsync('Z', bp, ct).ConfigureAwait(false);
            lock (_gate) _breakpoints.Add(bp);
            return bp;
        }

        public async Task RemoveBreakpointAsync(Breakpoint breakpoint, CancellationToken ct)
        {
            if (breakpoint == null) throw new ArgumentNullException(nameof(breakpoint));
            EnsureStopped("remove a breakpoint");
            lock (_gate)
                if (!_breakpoints.Contains(breakpoint))
                    throw new ArgumentException($"Breakpoint #{breakpoint.Id} at {HexAddress(breakpoint.Address)} is not set on {Endpoint}.", nameof(breakpoint));
            if (breakpoint.IsPending)
            {
                // Nothing is planted yet: forgetting it is all.
                lock (_gate) _breakpoints.Remove(breakpoint);
                return;
            }
            await SendBreakpointPacketAsync('z', breakpoint, ct).ConfigureAwait(false);
            lock (_gate) _breakpoints.Remove(breakpoint);
            if (_run.RewindPending == breakpoint)
            {
                // Without the breakpoint there is nothing to step over, but pc must still point at the instruction.
                await WriteRegisterNumberAsync(_dialect.Registers.ProgramCounterNumber, breakpoint.Address, ct).ConfigureAwait(false);
                _run.RewindPending = null;
            }
        }

        /// <summary>
        /// A breakpoint on <paramref name="symbol"/> of <paramref name="module"/>, a module not loaded yet: listed at once,
        /// planted by <see cref="PlantPendingAsync"/> when the module loads (see <see cref="ModuleBreakpoints"/>).
        /// </summary>
        internal Breakpoint AddPending(BreakpointKind kind, string module, string symbol)
        {
            EnsureStopped("set a breakpoint");
            lock (_gate)
            {
                Breakpoint? same = _breakpoints.FirstOrDefault(b => b.IsPending && b.Kind == kind && b.Module == module && b.Symbol == symbol);
                if (same != null) return same;
                var bp = new Breakpoint(_nextBreakpointId++, kind, module, symbol);
                _breakpoints.Add(bp);
                return bp;
            }
        }

        /// <summary>Plants a pending breakpoint at the address its module's symbol has now.</summary>
        internal async Task PlantPendingAsync(Breakpoint pending, ulong address, CancellationToken ct)
        {
            EnsureStopped("plant a breakpoint");
            var probe = new Breakpoint(pending.Id, pending.Kind, address, pending.Length);
            await SendBreakpointPacketAsync('Z', probe, ct).ConfigureAwait(false);
            pending.Plant(address);
        }

        /// <summary>
        /// The client's own software breakpoint (the module-load hook): not listed in <see cref="Breakpoints"/>; at each hit
        /// <paramref name="onHit"/> runs with the target stopped, and when it returns true the target is resumed and the
        /// stop is never returned to a waiter.
        /// </summary>
        internal async Task<Breakpoint> SetInternalBreakpointAsync(ulong address, Func<StopEvent, CancellationToken, Task<bool>> onHit, CancellationToken ct,
            BreakpointKind kind = BreakpointKind.Software)
        {
            EnsureStopped("set a breakpoint");
            Breakpoint bp;
            lock (_gate) bp = new Breakpoint(_nextBreakpointId++, kind, address, 1) { OnHit = onHit };
            await SendBreakpointPacketAsync('Z', bp, ct).ConfigureAwait(false);
            lock (_gate) _breakpoints.Add(bp);
            return bp;
        }

        /// <summary>Z/z with the kind's number. A retried Z may meet EEXIST and a retried z ENOENT: both mean done.</summary>
        internal async Task SendBreakpointPacketAsync(char op, Breakpoint bp, CancellationToken ct)
        {
            string command = Requests.Breakpoint(op == 'Z', (int)bp.Kind, bp.Address, bp.Length);
            string reply = await _session.RequestAsync(command, ReplyShape.OkOrError, ct).ConfigureAwait(false);
            if (reply == "OK") return;
            if (Replies.IsError(reply))
            {
                int code = Replies.ErrorCode(reply);
                if ((op == 'Z' && code == 17) || (op == 'z' && code == 2)) return;
                string what = (op == 'Z' ? "setting " : "removing ") + $"{bp.Kind} breakpoint #{bp.Id} at {HexAddress(bp.Address)}";
                throw Error(what, command, reply, bp.Address);
            }
            throw new NotSupportedException($"{Endpoint} does not support {bp.Kind} breakpoints ('{command}' got an empty reply).");
        }
    }
}

using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Dialects;
using KgdbOe.Protocol;

namespace KgdbOe.Client
{
    public sealed partial class KernelDebugClient
    {
        /// <summary>Reads the registers of a thread (null: the thread that stopped).</summary>
        public async Task<RegisterSet> ReadRegistersAsync(string? threadId, CancellationToken ct)
        {
            EnsureStopped("read registers");
            RegisterLayout layout = _dialect.Registers;
            if (threadId != null) await SelectThreadAsync(threadId, ct).ConfigureAwait(false);
            try
            {
                string reply = await _session.RequestAsync(Requests.ReadRegisters, ReplyShape.Custom("registers", p => (p.Length >= layout.Bytes * 2 && p.Length % 2 == 0 && Hex.IsHex(p)) || Replies.IsError(p)), ct).ConfigureAwait(false);
                if (Replies.IsError(reply)) throw Error($"reading the registers of thread {threadId ?? "(current)"}", "g", reply, null);
                byte[] bytes = Hex.Decode(reply);
                var registers = new List<Register>(layout.Count);
                int offset = 0;
                for (int i = 0; i < layout.Count; i++)
                {
                    (string name, int size) = layout[i];
                    var value = new byte[size];
                    Buffer.BlockCopy(bytes, offset, value, 0, size);
                    offset += size;
                    // KGDB leaves rip one past a software breakpoint until we resume; show where execution resumes.
                    if (threadId == null && _run.RewindPending != null && i == layout.ProgramCounterNumber)
                        value = BitConverter.GetBytes(_run.RewindPending.Address);
                    registers.Add(new Register(name, size, value));
                }
                return new RegisterSet(registers, layout.ProgramCounter);
            }
            finally
            {
                if (threadId != null && LastStop?.ThreadId != null) await SelectThreadAsync(LastStop.ThreadId, ct).ConfigureAwait(false);
            }
        }

        private async Task SelectThreadAsync(string threadId, CancellationToken ct)
        {
            string command = Requests.SelectThread(threadId);
            string reply = await _session.RequestAsync(command, ReplyShape.OkOrError, ct).ConfigureAwait(false);
            if (reply != "OK") throw new TargetErrorException($"{Endpoint}: selecting thread {threadId} failed: '{reply}'.", reply.Length == 3 ? Replies.ErrorCode(reply) : 0, null, command);
        }

        /// <summary>Writes one register of the stopped thread by name (rip, rax, eflags...).</summary>
        public async Task WriteRegisterAsync(string name, ulong value, CancellationToken ct)
        {
            if (name == null) throw new ArgumentNullException(nameof(name));
            EnsureStopped("write a register");
            if (!_dialect.Registers.TryGetNumber(name, out int number))
                throw new ArgumentException($"No register named '{name}' on {_dialect.Kind}. Known: {string.Join(", ", _dialect.Registers.Names)}.", nameof(name));
            await WriteRegisterNumberAsync(number, value, ct).ConfigureAwait(false);
            // Writing pc by hand overrides the pending rewind after a breakpoint.
            if (number == _dialect.Registers.ProgramCounterNumber) _run.RewindPending = null;
        }

        internal async Task WriteRegisterNumberAsync(int number, ulong value, CancellationToken ct)
        {
            (string name, int size) = _dialect.Registers[number];
            byte[] bytes = BitConverter.GetBytes(value);
            if (size < 8)
            {
                if (size < 8 && (value >> (size * 8)) != 0)
                    throw new ArgumentOutOfRangeException(nameof(value), $"0x{value:x} does not fit the {size}-byte register {name}.");
                Array.Resize(ref bytes, size);
            }
            string command = Requests.WriteRegister(number, bytes);
            string reply = await _session.RequestAsync(command, ReplyShape.OkOrError, ct).ConfigureAwait(false);
            if (Replies.IsError(reply)) throw Error($"writing register {name}", command, reply, null);
            if (reply != "OK") throw new GdbProtocolException($"{Endpoint}: writing register {name} is not supported (reply '{reply}').", command);
        }

        /// <summary>pc of the stopped thread (p on the pc's register number: one short round trip).</summary>
        internal async Task<ulong> ReadProgramCounterAsync(CancellationToken ct)
        {
            int number = _dialect.Registers.ProgramCounterNumber;
            string command = Requests.ReadRegister(number);
            string reply = await _session.RequestAsync(command, ReplyShape.HexDigits(16), ct).ConfigureAwait(false);
            if (reply.Length == 0)
            {
                // A stub without 'p': take pc from the whole register set.
                RegisterSet all = await ReadRegistersAsync(null, ct).ConfigureAwait(false);
                return all.ProgramCounter;
            }
            if (Replies.IsError(reply) || reply.Length != 16) throw new GdbProtocolException($"{Endpoint}: cannot read pc ('{reply}').", command);
            byte[] bytes = Hex.Decode(reply);
            return BitConverter.ToUInt64(bytes, 0);
        }
    }
}

using System;
using System.Globalization;

namespace KgdbOe.Disassembly
{
    /// <summary>One decoded x86-64 instruction at its run-time address.</summary>
    public sealed class DisassembledInstruction
    {
        public DisassembledInstruction(ulong address, byte[] bytes, string text, string mnemonic, ulong? target, bool isCurrent, bool isBreakpoint)
        {
            Address = address;
            Bytes = bytes ?? throw new ArgumentNullException(nameof(bytes));
            Text = text ?? throw new ArgumentNullException(nameof(text));
            Mnemonic = mnemonic ?? throw new ArgumentNullException(nameof(mnemonic));
            Target = target;
            IsCurrent = isCurrent;
            IsBreakpoint = isBreakpoint;
        }

        /// <summary>The run-time address of the first byte.</summary>
        public ulong Address { get; }

        /// <summary>The instruction's bytes as the kernel's code holds them (a planted int3 already replaced by the original byte).</summary>
        public byte[] Bytes { get; }

        /// <summary>Mnemonic and operands, e.g. "mov    %rsp,%rbp" or "call   ffffffff81234560 &lt;__fentry__&gt;".</summary>
        public string Text { get; }

        /// <summary>The mnemonic alone, as in <see cref="Text"/> (prefixes included: "lock incl" gives "lock incl").</summary>
        public string Mnemonic { get; }

        /// <summary>The target of a direct branch or call, or of a rip-relative memory operand; null otherwise.</summary>
        public ulong? Target { get; }

        /// <summary>True on the instruction at the stopped CPU's pc.</summary>
        public bool IsCurrent { get; }

        /// <summary>True when a software breakpoint of the session is planted on this instruction's first byte.</summary>
        public bool IsBreakpoint { get; }

        public override string ToString() =>
            string.Format(CultureInfo.InvariantCulture, "{0:x16}: {1}", Address, Text);
    }
}

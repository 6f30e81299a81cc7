using System.Linq;
using KgdbOe.Disassembly;

namespace KgdbOe.PowerShell
{
    /// <summary>One disassembled instruction; its Address pipes into Set-KernelBreakpoint.</summary>
    public sealed class KernelInstruction
    {
        internal KernelInstruction(KernelTargetSession target, DisassembledInstruction instruction)
        {
            Target = target;
            Instruction = instruction;
            Location = CodeLocation.Describe(target, instruction.Address);
        }

        public KernelTargetSession Target { get; }
        public ulong Address => Instruction.Address;

        /// <summary>The address as symbol+0x1f.</summary>
        public string? Location { get; }

        /// <summary>The instruction's bytes (the original ones where a breakpoint of the session is planted).</summary>
        public byte[] Bytes => Instruction.Bytes;

        /// <summary>The bytes as objdump shows them: "48 89 e5".</summary>
        public string BytesHex => string.Join(" ", Instruction.Bytes.Select(b => b.ToString("x2")));

        public string Text => Instruction.Text;
        public string Mnemonic => Instruction.Mnemonic;

        /// <summary>A direct branch or call target, or a rip-relative operand's address.</summary>
        public ulong? TargetAddress => Instruction.Target;

        /// <summary>True on the instruction at the stopped CPU's pc.</summary>
        public bool IsCurrent => Instruction.IsCurrent;

        /// <summary>True where a software breakpoint of this session is planted.</summary>
        public bool IsBreakpoint => Instruction.IsBreakpoint;

        public DisassembledInstruction Instruction { get; }

        public override string ToString() => "0x" + Address.ToString("x16") + ": " + Text;
    }
}

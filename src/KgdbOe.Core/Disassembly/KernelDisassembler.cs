using System;
using System.Collections.Generic;
using System.Globalization;
using StringBuilder = System.Text.StringBuilder;
using Iced.Intel;

namespace KgdbOe.Disassembly
{
    /// <summary>
    /// Decodes x86-64 code with Iced and spells it the way GNU objdump -d does: AT&amp;T by default
    /// (Iced's GasFormatter tuned to objdump's choices), Intel on request. Direct branch and call targets
    /// read "ffffffff81234560 &lt;symbol+0x10&gt;" and rip-relative operands get objdump's "# address
    /// &lt;symbol&gt;" comment. Stateless: formatters are made per call, so any number of targets can share it.
    /// </summary>
    public static class KernelDisassembler
    {
        /// <summary>
        /// When the first instruction of <paramref name="code"/> (at <paramref name="address"/>) is a call, direct or
        /// indirect, the address of the instruction after it (where the call returns); null for any other instruction
        /// or bytes that do not decode. What "step over" needs.
        /// </summary>
        public static ulong? ReturnAddressIfCall(byte[] code, ulong address)
        {
            if (code == null) throw new ArgumentNullException(nameof(code));
            var decoder = Decoder.Create(64, new ByteArrayCodeReader(code));
            decoder.IP = address;
            decoder.Decode(out Instruction instruction);
            if (instruction.IsInvalid) return null;
            return instruction.FlowControl == FlowControl.Call || instruction.FlowControl == FlowControl.IndirectCall ? instruction.NextIP : (ulong?)null;
        }

        /// <summary>objdump pads the mnemonic to 6 characters and adds a space: operands start at column 7.</summary>
        private const int OperandColumn = 7;

        /// <summary>
        /// Disassembles <paramref name="code"/>, loaded at run-time address <paramref name="address"/>.
        /// </summary>
        /// <param name="code">The bytes as read from the target; bytes under <paramref name="originalBytes"/> are replaced first.</param>
        /// <param name="address">Run-time address of code[0].</param>
        /// <param name="syntax">AT&amp;T (objdump's default) or Intel.</param>
        /// <param name="describe">Names an address as "symbol+0x10", or null when no symbol covers it.</param>
        /// <param name="currentPc">The stopped CPU's pc, marked <see cref="DisassembledInstruction.IsCurrent"/>; null for none.</param>
        /// <param name="originalBytes">Software breakpoints of the session: address to the byte the int3 replaced
        /// (null when only the location is known and memory already reads the original byte, as on KGDB).</param>
        /// <param name="maxCount">At most this many instructions; null for all the bytes hold.</param>
        /// <returns>One entry per instruction; a truncated last instruction and undecodable bytes read "(bad)", one byte each, as objdump does.</returns>
        public static IReadOnlyList<DisassembledInstruction> Disassemble(byte[] code, ulong address, DisassemblySyntax syntax,
            Func<ulong, string?> describe, ulong? currentPc, IReadOnlyDictionary<ulong, byte?>? originalBytes, int? maxCount)
        {
            if (code == null) throw new ArgumentNullException(nameof(code));
            if (describe == null) throw new ArgumentNullException(nameof(describe));
            byte[] bytes = (byte[])code.Clone();
            if (originalBytes != null)
                foreach (KeyValuePair<ulong, byte?> bp in originalBytes)
                    if (bp.Key >= address && bp.Key - address < (ulong)bytes.Length && bp.Value is byte original)
                        bytes[bp.Key - address] = original;

            Formatter formatter = CreateFormatter(syntax, describe);
            var output = new StringOutput();
            var result = new List<DisassembledInstruction>();
            var reader = new ByteArrayCodeReader(bytes);
            Decoder decoder = Decoder.Create(64, reader, address, DecoderOptions.None);
            int offset = 0;
            while (offset < bytes.Length && (maxCount == null || result.Count < maxCount.Value))
            {
                reader.Position = offset;
                decoder.IP = address + (ulong)offset;
                decoder.Decode(out Instruction instruction);
                ulong at = address + (ulong)offset;
                int length = instruction.Length;
                string text, mnemonic;
                ulong? target = null;
                if (instruction.IsInvalid || length == 0 || offset + length > bytes.Length)
                {
                    length = 1;
                    text = mnemonic = "(bad)";
                }
                else
                {
                    // objdump, both syntaxes: 0x0(%rax,%rax,1) / [rax+rax*1+0x0] where a displacement is encoded.
                    formatter.Options.ShowZeroDisplacements = HasEncodedDisplacement(instruction);
                    formatter.Options.AlwaysShowScale = instruction.MemoryIndex != Register.None;
                    formatter.Format(instruction, output);
                    text = output.ToStringAndReset();
                    formatter.FormatMnemonic(instruction, output);
                    mnemonic = output.ToStringAndReset();
                    if (syntax == DisassemblySyntax.Att) (text, mnemonic) = LikeObjdump(instruction, Slice(bytes, offset, length), text, mnemonic);
                    target = BranchTarget(instruction);
                    if (target == null && instruction.IsIPRelativeMemoryOperand)
                    {
                        target = instruction.IPRelativeMemoryAddress;
                        text = AppendRipComment(text, target.Value, describe);
                    }
                }
                byte[] instructionBytes = Slice(bytes, offset, length);
                bool isBreakpoint = originalBytes != null && originalBytes.ContainsKey(at);
                result.Add(new DisassembledInstruction(at, instructionBytes, text, mnemonic, target,
                    currentPc is ulong pc && pc >= at && pc < at + (ulong)length, isBreakpoint));
                offset += length;
            }
            return result;
        }

        private static byte[] Slice(byte[] bytes, int offset, int length)
        {
            var slice = new byte[length];
            Buffer.BlockCopy(bytes, offset, slice, 0, length);
            return slice;
        }

        /// <summary>objdump prints "0x0(%rax,%rax,1)" only where a zero displacement is encoded (nopl's 0f 1f 44 00 00).</summary>
        private static bool HasEncodedDisplacement(in Instruction instruction)
        {
            for (int i = 0; i < instruction.OpCount; i++)
                if (instruction.GetOpKind(i) == OpKind.Memory)
                    return instruction.MemoryDisplSize != 0 && instruction.MemoryBase != Register.None;
            return false;
        }

        /// <summary>
        /// Where GNU objdump (binutils 2.40) and Iced's GAS formatter spell the same instruction differently:
        /// objdump writes indirect near calls and jumps without a size suffix ("call *0x10(%rax)", Iced
        /// "callq"), and names the implicit segments of string instructions ("stos %al,%es:(%rdi)").
        /// </summary>
        private static (string Text, string Mnemonic) LikeObjdump(in Instruction instruction, byte[] code, string text, string mnemonic)
        {
            string bare = mnemonic;
            if ((mnemonic == "callq" || mnemonic == "jmpq") && text.IndexOf('*') >= 0)
                bare = mnemonic.Substring(0, mnemonic.Length - 1);
            if (instruction.IsStringInstruction)
            {
                text = ReplaceOperand(text, "(%rdi)", "%es:(%rdi)");
                text = ReplaceOperand(text, "(%rsi)", "%ds:(%rsi)");
            }
            string prefix = "";
            if (instruction.Mnemonic == Mnemonic.Imul && instruction.OpCount == 3 && instruction.Op0Kind == OpKind.Register &&
                instruction.Op1Kind == OpKind.Register && instruction.Op0Register == instruction.Op1Register)
                text += ",%" + instruction.Op0Register.ToString().ToLowerInvariant(); // objdump keeps imul's third operand
            if (instruction.Code.ToString().EndsWith("_1", StringComparison.Ordinal) && text.Contains("$0x1,"))
                text = text.Replace("$0x1,", ""); // the D0/D1 shifts by one: objdump writes "shl %eax"
            if (instruction.Mnemonic == Mnemonic.Nop && instruction.SegmentPrefix != Register.None)
            {
                // objdump: "cs nopw 0x0(%rax,%rax,1)", the segment as a prefix of the padding nop.
                string segment = "%" + instruction.SegmentPrefix.ToString().ToLowerInvariant() + ":";
                text = text.Replace(segment, "");
                prefix = segment.Substring(1, 2) + " ";
            }
            if (instruction.Mnemonic == Mnemonic.Nop)
                for (int i = 1; i < RepeatedOperandSizePrefixes(code); i++) prefix = "data16 " + prefix;
            if (bare != mnemonic || prefix.Length > 0)
            {
                int at = text.IndexOf(mnemonic, StringComparison.Ordinal);
                string rest = text.Substring(at + mnemonic.Length).TrimStart(' ');
                string head = prefix + text.Substring(0, at) + bare;
                text = head.PadRight(Math.Max(head.Length + 1, OperandColumn)) + rest;
                mnemonic = bare;
            }
            return (text, mnemonic);
        }

        /// <summary>How many 0x66 bytes the instruction's legacy prefixes hold (objdump shows each extra one as "data16").</summary>
        private static int RepeatedOperandSizePrefixes(byte[] code)
        {
            int n = 0;
            foreach (byte b in code)
            {
                if (b == 0x66) n++;
                else if (b != 0x2e && b != 0x3e && b != 0x26 && b != 0x36 && b != 0x64 && b != 0x65 && b != 0xf2 && b != 0xf3 && b != 0xf0) break;
            }
            return n;
        }

        private static string ReplaceOperand(string text, string plain, string segmented)
        {
            int i = text.IndexOf(plain, StringComparison.Ordinal);
            if (i < 0 || (i > 0 && text[i - 1] == ':')) return text;
            return text.Substring(0, i) + segmented + text.Substring(i + plain.Length);
        }

        private static ulong? BranchTarget(in Instruction instruction)
        {
            for (int i = 0; i < instruction.OpCount; i++)
            {
                OpKind kind = instruction.GetOpKind(i);
                if (kind == OpKind.NearBranch64 || kind == OpKind.NearBranch32 || kind == OpKind.NearBranch16)
                    return instruction.NearBranchTarget;
            }
            return null;
        }

        /// <summary>objdump's comment after a rip-relative operand: 8 spaces, "# ", the address, " &lt;symbol&gt;" (or "0x" and the address).</summary>
        private static string AppendRipComment(string text, ulong target, Func<ulong, string?> describe)
        {
            var sb = new StringBuilder(text);
            // objdump writes the bare hex before a symbol it found, "0x" and the hex where it found none.
            string? name = describe(target);
            sb.Append("        # ").Append(name == null ? "0x" : "").Append(target.ToString("x", CultureInfo.InvariantCulture));
            if (name != null) sb.Append(" <").Append(name).Append('>');
            return sb.ToString();
        }

        private static Formatter CreateFormatter(DisassemblySyntax syntax, Func<ulong, string?> describe)
        {
            var resolver = new BranchSymbolResolver(describe);
            Formatter formatter = syntax == DisassemblySyntax.Intel ? new IntelFormatter(resolver) : (Formatter)new GasFormatter(resolver);
            FormatterOptions o = formatter.Options;
            o.HexPrefix = "0x";
            o.HexSuffix = null;
            o.UppercaseHex = false;
            o.SmallHexNumbersInDecimal = false;
            o.LeadingZeros = false;
            o.BranchLeadingZeros = false;
            o.DisplacementLeadingZeros = false;
            o.SignedImmediateOperands = false;
            o.SignedMemoryDisplacements = true;
            o.SpaceAfterOperandSeparator = false;
            o.FirstOperandCharIndex = OperandColumn;
            o.TabSize = 0;
            o.RipRelativeAddresses = true;
            o.ShowBranchSize = false;
            o.GasNakedRegisters = false;
            o.GasShowMnemonicSizeSuffix = false;
            o.GasSpaceAfterMemoryOperandComma = false;
            o.ShowUselessPrefixes = true;    // objdump: cs nopw 0x0(%rax,%rax,1)
            if (syntax == DisassemblySyntax.Intel)
            {
                o.UppercaseKeywords = true;
                o.MemorySizeOptions = MemorySizeOptions.Always; // objdump -M intel: QWORD PTR [rdi+0x8]
                o.SpaceBetweenMemoryAddOperators = false;
            }
            return formatter;
        }

        /// <summary>Names direct branch and call targets objdump's way; memory operands keep their numbers.</summary>
        private sealed class BranchSymbolResolver : ISymbolResolver
        {
            private readonly Func<ulong, string?> _describe;

            public BranchSymbolResolver(Func<ulong, string?> describe) => _describe = describe;

            public bool TryGetSymbol(in Instruction instruction, int operand, int instructionOperand, ulong address, int addressSize, out SymbolResult symbol)
            {
                OpKind kind = instructionOperand >= 0 ? instruction.GetOpKind(instructionOperand) : OpKind.Register;
                if (kind == OpKind.NearBranch64 || kind == OpKind.NearBranch32 || kind == OpKind.NearBranch16)
                {
                    string hex = address.ToString("x", CultureInfo.InvariantCulture);
                    string? name = _describe(address);
                    symbol = new SymbolResult(address, name == null ? hex : hex + " <" + name + ">");
                    return true;
                }
                symbol = default;
                return false;
            }
        }
    }
}

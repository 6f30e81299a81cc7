namespace KgdbOe.Disassembly
{
    /// <summary>The assembler syntax of disassembled text.</summary>
    public enum DisassemblySyntax
    {
        /// <summary>AT&amp;T, spelled like GNU objdump -d (source before destination, %registers, $immediates).</summary>
        Att,

        /// <summary>Intel, spelled like objdump -d -M intel (destination first, no sigils).</summary>
        Intel,
    }
}

using System;
using System.Collections.Generic;

namespace KgdbOe.Dialects
{
    /// <summary>The order, names and sizes of the registers in a 'g' reply, and their numbers for p/P.</summary>
    internal sealed class RegisterLayout
    {
        private readonly (string Name, int Size)[] _registers;
        private readonly Dictionary<string, int> _numbers = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);

        public RegisterLayout(string programCounter, params (string Name, int Size)[] registers)
        {
            _registers = registers;
            ProgramCounter = programCounter;
            for (int i = 0; i < registers.Length; i++) _numbers[registers[i].Name] = i;
            int total = 0;
            foreach (var r in registers) total += r.Size;
            Bytes = total;
        }

        public string ProgramCounter { get; }
        public int ProgramCounterNumber => _numbers[ProgramCounter];
        public int Count => _registers.Length;
        public int Bytes { get; }
        public (string Name, int Size) this[int number] => _registers[number];

        public bool TryGetNumber(string name, out int number) => _numbers.TryGetValue(name, out number);

        public IEnumerable<string> Names { get { foreach (var r in _registers) yield return r.Name; } }

        private static readonly string[] Gprs = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip" };

        /// <summary>x86-64 as KGDB sends it: 17 eight-byte registers then eflags cs ss ds es (156 bytes).</summary>
        public static readonly RegisterLayout KgdbX86_64 = X86_64(withFsGs: false);

        /// <summary>The general part of gdb's amd64 layout, as QEMU and gdbserver send it first (through gs).</summary>
        public static readonly RegisterLayout GdbX86_64 = X86_64(withFsGs: true);

        private static RegisterLayout X86_64(bool withFsGs)
        {
            var list = new List<(string, int)>();
            foreach (string g in Gprs) list.Add((g, 8));
            list.Add(("eflags", 4));
            foreach (string s in withFsGs ? new[] { "cs", "ss", "ds", "es", "fs", "gs" } : new[] { "cs", "ss", "ds", "es" }) list.Add((s, 4));
            return new RegisterLayout("rip", list.ToArray());
        }
    }
}

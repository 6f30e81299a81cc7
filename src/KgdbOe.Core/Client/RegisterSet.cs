using System;
using System.Collections;
using System.Collections.Generic;

namespace KgdbOe.Client
{
    /// <summary>The registers of one thread, by position and by name.</summary>
    public sealed class RegisterSet : IReadOnlyList<Register>
    {
        private readonly IReadOnlyList<Register> _registers;
        private readonly Dictionary<string, Register> _byName;
        private readonly string _pcName;

        public RegisterSet(IReadOnlyList<Register> registers, string programCounterName)
        {
            _registers = registers ?? throw new ArgumentNullException(nameof(registers));
            _pcName = programCounterName;
            _byName = new Dictionary<string, Register>(StringComparer.OrdinalIgnoreCase);
            foreach (Register r in registers) _byName[r.Name] = r;
        }

        public Register this[int index] => _registers[index];

        public Register this[string name] =>
            _byName.TryGetValue(name, out Register? r) ? r : throw new KeyNotFoundException($"No register named '{name}'. Known: {string.Join(", ", _byName.Keys)}.");

        public bool TryGetValue(string name, out Register? register) => _byName.TryGetValue(name, out register);

        public ulong ProgramCounter => this[_pcName].Value;

        public int Count => _registers.Count;

        public IEnumerator<Register> GetEnumerator() => _registers.GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

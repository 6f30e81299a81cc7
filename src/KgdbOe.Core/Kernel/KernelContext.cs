using System;
using System.Buffers.Binary;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Client;
using KgdbOe.Symbols;
using KgdbOe.Types;

namespace KgdbOe.Kernel
{
    /// <summary>
    /// What typed reads of one kernel need: its types (BTF), a way to read its memory, and its symbols (run-time
    /// addresses, KASLR applied). One per target session; the objects it reads keep it, so their pointers can be
    /// followed later. Thread-safe; the only state is the per-CPU offset cache, which never changes after boot.
    /// </summary>
    public sealed class KernelContext
    {
        /// <summary>The lowest address of the kernel half on x86-64 (4-level paging); pointers below it are not followed.</summary>
        public const ulong KernelHalf = 0xffff800000000000UL;

        // Pointers farther than this past a symbol are shown without the symbol: they are data, not code.
        private const ulong MaxDescribedOffset = 0x100000;

        private readonly object _perCpuLock = new object(); // guards _perCpuOffsets
        private ulong[]? _perCpuOffsets;

        // Member layouts by struct type, built on first use (the graph hands out one object per type id).
        private readonly System.Collections.Concurrent.ConcurrentDictionary<StructType, FieldLayout> _layouts =
            new System.Collections.Concurrent.ConcurrentDictionary<StructType, FieldLayout>();

        /// <summary>A context over <paramref name="types"/>, reading through <paramref name="memory"/>.</summary>
        public KernelContext(BtfTypeGraph types, IKernelMemory memory, SymbolTable? symbols)
        {
            Types = types ?? throw new ArgumentNullException(nameof(types));
            Memory = memory ?? throw new ArgumentNullException(nameof(memory));
            Symbols = symbols;
        }

        /// <summary>The kernel's types.</summary>
        public BtfTypeGraph Types { get; }

        /// <summary>Where bytes come from.</summary>
        public IKernelMemory Memory { get; }

        /// <summary>The kernel's symbols at their run-time addresses, or null.</summary>
        public SymbolTable? Symbols { get; }

        /// <summary>
        /// The type called <paramref name="name"/>: "task_struct", "struct task_struct", "unsigned long", "u64", "char *".
        /// Throws <see cref="KernelTypeNotFoundException"/>.
        /// </summary>
        public KernelType FindType(string name)
        {
            if (name == null) throw new ArgumentNullException(nameof(name));
            string trimmed = System.Text.RegularExpressions.Regex.Replace(name.Trim(), @"\s+", " ");
            KernelType? type = trimmed.Length == 0 ? null : Types.FindType(trimmed);
            if (type == null)
            {
                // BTF names base types as DWARF does ("long unsigned int"); people write C ("unsigned long").
                string stars = trimmed.TrimEnd('*', ' ');
                string suffix = trimmed.Substring(stars.Length);
                if (DwarfNames.TryGetValue(stars, out string? dwarf)) type = Types.FindType(dwarf + suffix);
            }
            return type ?? throw new KernelTypeNotFoundException(name);
        }

        private static readonly System.Collections.Generic.Dictionary<string, string> DwarfNames =
            new System.Collections.Generic.Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["unsigned long"] = "long unsigned int", ["unsigned long int"] = "long unsigned int", ["long unsigned"] = "long unsigned int",
                ["long"] = "long int", ["signed long"] = "long int", ["long signed int"] = "long int",
                ["unsigned long long"] = "long long unsigned int", ["unsigned long long int"] = "long long unsigned int",
                ["long long"] = "long long int", ["signed long long"] = "long long int",
                ["unsigned short"] = "short unsigned int", ["unsigned short int"] = "short unsigned int",
                ["short"] = "short int", ["signed short"] = "short int",
                ["unsigned"] = "unsigned int", ["signed"] = "int", ["signed int"] = "int",
                ["bool"] = "_Bool",
            };

        /// <summary>The struct or union called <paramref name="name"/>; throws <see cref="KernelTypeNotFoundException"/>.</summary>
        public StructType FindStruct(string name) =>
            FindType(name).Resolve() as StructType ?? throw new KernelTypeNotFoundException(name, "It is not a struct or union.");

        internal FieldLayout GetLayout(StructType type) => _layouts.GetOrAdd(type, t => new FieldLayout(t));

        /// <summary>The members of <paramref name="type"/> as typed objects show them (anonymous members lifted).</summary>
        public System.Collections.Generic.IReadOnlyList<KernelField> GetFields(StructType type) => GetLayout(type).Fields;

        /// <summary>
        /// The member at <paramref name="path"/> ("tasks", "se.vruntime", "mem[0].base") of <paramref name="type"/>, with its
        /// bit offset from the start of <paramref name="type"/>. Throws <see cref="KernelMemberNotFoundException"/>.
        /// </summary>
        public KernelField FindField(KernelType type, string path)
        {
            if (path == null) throw new ArgumentNullException(nameof(path));
            KernelType current = type;
            ulong bitOffset = 0;
            KernelField? field = null;
            foreach (string part in path.Split('.'))
            {
                string name = part;
                var indexes = new System.Collections.Generic.List<ulong>();
                int bracket = name.IndexOf('[');
                if (bracket >= 0)
                {
                    foreach (string index in name.Substring(bracket + 1).TrimEnd(']').Split(new[] { "][" }, StringSplitOptions.None))
                    {
                        if (!ulong.TryParse(index, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ulong i))
                            throw new KernelMemberNotFoundException(current.DisplayName, part);
                        indexes.Add(i);
                    }
                    name = name.Substring(0, bracket);
                }
                if (!(current.Resolve() is StructType st)) throw new KernelMemberNotFoundException(current.DisplayName, name);
                KernelField f = GetLayout(st).Find(name) ?? throw new KernelMemberNotFoundException(current.DisplayName, name);
                bitOffset += f.BitOffset;
                KernelType t = f.Type;
                foreach (ulong i in indexes)
                {
                    if (!(t.Resolve() is ArrayType at) || (at.Length != 0 && i >= at.Length))
                        throw new KernelMemberNotFoundException(current.DisplayName, part);
                    bitOffset += i * at.Element.Size * 8;
                    t = at.Element;
                }
                field = new KernelField(f.Name, t, bitOffset, indexes.Count == 0 ? f.BitFieldSize : 0);
                current = t;
            }
            return field ?? throw new KernelMemberNotFoundException(type.DisplayName, path);
        }

        /// <summary>"name+0x1f" for an address inside the kernel image's symbols, else null.</summary>
        public string? Describe(ulong address)
        {
            if (Symbols == null || address < KernelHalf) return null;
            SymbolLocation? location = Symbols.Lookup(address);
            return location != null && location.Offset < MaxDescribedOffset ? location.ToString() : null;
        }

        /// <summary>The run-time address of <paramref name="symbol"/>; throws <see cref="KernelSymbolNotFoundException"/>.</summary>
        public ulong GetSymbolAddress(string symbol)
        {
            if (Symbols == null) throw new KernelSymbolNotFoundException(symbol, "The session has no symbols: connect with -SystemMap, -Vmlinux or -Kallsyms.");
            return Symbols.TryGetAddress(symbol, out ulong address) ? address : throw new KernelSymbolNotFoundException(symbol);
        }

        /// <summary>True when <paramref name="symbol"/> is known.</summary>
        public bool TryGetSymbolAddress(string symbol, out ulong address)
        {
            address = 0;
            return Symbols != null && Symbols.TryGetAddress(symbol, out address);
        }

        /// <summary>Throws <see cref="KernelBadPointerException"/> unless <paramref name="address"/> can point into the kernel half.</summary>
        public static void CheckPointer(ulong address, string what)
        {
            if (address == 0) throw new KernelBadPointerException(address, what, "it is a null pointer.");
            if (address < KernelHalf) throw new KernelBadPointerException(address, what, "it is not a kernel address (below 0xffff800000000000).");
        }

        /// <summary>
        /// Reads <paramref name="length"/> bytes for <paramref name="what"/> ("struct task_struct"); a refused read becomes
        /// <see cref="KernelBadPointerException"/> (a running kernel still gives InvalidOperationException).
        /// </summary>
        public async Task<byte[]> ReadBytesAsync(ulong address, int length, string what, CancellationToken ct)
        {
            CheckPointer(address, what);
            try
            {
                return await Memory.ReadAsync(address, length, ct).ConfigureAwait(false);
            }
            catch (TargetErrorException e)
            {
                throw new KernelBadPointerException(address, what, "the kernel refused the read (" + e.Message + ")", e);
            }
        }

        /// <summary>Reads one object of <paramref name="type"/> at <paramref name="address"/> with one read of sizeof(type).</summary>
        public async Task<KernelObject> ReadObjectAsync(ulong address, KernelType type, CancellationToken ct)
        {
            if (type == null) throw new ArgumentNullException(nameof(type));
            ulong size = type.Size;
            if (size == 0 || size > int.MaxValue)
                throw new KernelLayoutException($"Cannot read an object of type '{type.DisplayName}': its size is {size} (void, a function or an incomplete type). Name a type with a size.", type.DisplayName);
            byte[] bytes = await ReadBytesAsync(address, (int)size, type.DisplayName, ct).ConfigureAwait(false);
            return new KernelObject(this, address, type, bytes, 0);
        }

        /// <summary>The objects of <paramref name="type"/> that <paramref name="bytes"/> (read at <paramref name="address"/>) holds one after another.</summary>
        public KernelObject[] Split(ulong address, KernelType type, byte[] bytes)
        {
            int size = checked((int)type.Size);
            if (size == 0) throw new KernelLayoutException($"The type '{type.DisplayName}' has no size.", type.DisplayName);
            var objects = new KernelObject[bytes.Length / size];
            for (int i = 0; i < objects.Length; i++) objects[i] = new KernelObject(this, address + (ulong)(i * size), type, bytes, i * size);
            return objects;
        }

        /// <summary>Reads a 64-bit little-endian value (a pointer, an unsigned long).</summary>
        public async Task<ulong> ReadUInt64Async(ulong address, string what, CancellationToken ct) =>
            BinaryPrimitives.ReadUInt64LittleEndian(await ReadBytesAsync(address, 8, what, ct).ConfigureAwait(false));

        /// <summary>Reads a 32-bit little-endian value.</summary>
        public async Task<uint> ReadUInt32Async(ulong address, string what, CancellationToken ct) =>
            BinaryPrimitives.ReadUInt32LittleEndian(await ReadBytesAsync(address, 4, what, ct).ConfigureAwait(false));

        /// <summary>
        /// The per-CPU offsets, one per possible CPU id (0 .. nr_cpu_ids-1): <c>__per_cpu_offset[cpu]</c>, which is added to
        /// a per-CPU symbol's address (include/asm-generic/percpu.h, per_cpu_offset()). Read once: they do not change after boot.
        /// </summary>
        public async Task<ulong[]> GetPerCpuOffsetsAsync(CancellationToken ct)
        {
            lock (_perCpuLock)
            {
                if (_perCpuOffsets != null) return _perCpuOffsets;
            }
            uint count = await ReadUInt32Async(GetSymbolAddress("nr_cpu_ids"), "unsigned int nr_cpu_ids", ct).ConfigureAwait(false);
            if (count == 0 || count > 8192) throw new KernelLayoutException($"nr_cpu_ids is {count}: not a CPU count.", "nr_cpu_ids");
            byte[] bytes = await ReadBytesAsync(GetSymbolAddress("__per_cpu_offset"), (int)count * 8, "unsigned long __per_cpu_offset[]", ct).ConfigureAwait(false);
            var offsets = new ulong[count];
            for (int i = 0; i < offsets.Length; i++) offsets[i] = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(i * 8));
            lock (_perCpuLock)
            {
                _perCpuOffsets ??= offsets;
                return _perCpuOffsets;
            }
        }

        /// <summary>The address of per-CPU variable at <paramref name="symbolAddress"/> on <paramref name="cpu"/>.</summary>
        public async Task<ulong> GetPerCpuAddressAsync(ulong symbolAddress, int cpu, CancellationToken ct)
        {
            ulong[] offsets = await GetPerCpuOffsetsAsync(ct).ConfigureAwait(false);
            if (cpu < 0 || cpu >= offsets.Length)
                throw new ArgumentOutOfRangeException(nameof(cpu), cpu, $"The kernel has CPUs 0 to {offsets.Length - 1} (nr_cpu_ids {offsets.Length}).");
            return unchecked(symbolAddress + offsets[cpu]);
        }
    }
}

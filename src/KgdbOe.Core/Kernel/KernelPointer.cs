using System;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Types;

namespace KgdbOe.Kernel
{
    /// <summary>
    /// A pointer read from the kernel: its value and the type it points to. Shown as hex (with the symbol when it points
    /// at one, always for a function pointer); followed only when asked (<see cref="Read()"/>). <see cref="Address"/> and
    /// <see cref="Type"/> let it be piped into Read-KernelObject.
    /// </summary>
    public sealed class KernelPointer
    {
        private readonly KernelContext? _context;

        /// <summary>A pointer to <paramref name="targetType"/> at <paramref name="address"/>; <paramref name="context"/> null makes it unfollowable.</summary>
        public KernelPointer(KernelContext? context, ulong address, KernelType targetType)
        {
            _context = context;
            Address = address;
            TargetType = targetType ?? throw new ArgumentNullException(nameof(targetType));
        }

        /// <summary>The pointer's value: where it points.</summary>
        public ulong Address { get; }

        /// <summary>The pointed-to type.</summary>
        public KernelType TargetType { get; }

        /// <summary>The C spelling of the pointed-to type ("struct task_struct"), as Read-KernelObject -Type takes it.</summary>
        public string Type => TargetType.DisplayName;

        /// <summary>True for NULL.</summary>
        public bool IsNull => Address == 0;

        /// <summary>True for a pointer to a function.</summary>
        public bool IsFunction => TargetType.Resolve() is FunctionProtoType || TargetType.Resolve() is FunctionType;

        /// <summary>The symbol it points into ("do_exit", "init_task+0x10"), or null.</summary>
        public string? Symbol => _context?.Describe(Address);

        /// <summary>Reads the object it points to (one read of sizeof(target)). Throws <see cref="KernelBadPointerException"/>.</summary>
        public KernelObject Read() => ReadAsync(CancellationToken.None).GetAwaiter().GetResult();

        /// <summary>Reads what it points to as <paramref name="typeName"/> instead (a void * or a cast).</summary>
        public KernelObject Read(string typeName) => ReadAsync(Context.FindType(typeName), CancellationToken.None).GetAwaiter().GetResult();

        /// <summary>Reads the pointed-to object.</summary>
        public Task<KernelObject> ReadAsync(CancellationToken ct) => ReadAsync(TargetType, ct);

        /// <summary>Reads an object of <paramref name="type"/> at the address.</summary>
        public Task<KernelObject> ReadAsync(KernelType type, CancellationToken ct)
        {
            KernelType resolved = type.Resolve();
            if (resolved is VoidType || resolved.Size == 0)
                throw new KernelLayoutException(
                    $"The pointer {KernelObjectException.Hex(Address)} points to '{type.DisplayName}', which has no size: name a type, as in .Read('struct task_struct').",
                    KernelObjectException.Hex(Address));
            return Context.ReadObjectAsync(Address, type, ct);
        }

        /// <summary>Reads <paramref name="count"/> consecutive objects of the target type (an array through a pointer).</summary>
        public object?[] ReadArray(int count)
        {
            if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
            ulong size = TargetType.Size;
            if (size == 0) throw new KernelLayoutException($"'{Type}' has no size: cannot read an array of it.", Type);
            byte[] bytes = Context.ReadBytesAsync(Address, checked((int)(size * (ulong)count)), Type + "[" + count + "]", CancellationToken.None).GetAwaiter().GetResult();
            var values = new object?[count];
            for (int i = 0; i < count; i++) values[i] = ValueDecoder.Decode(Context, TargetType, bytes, (int)((ulong)i * size), Address);
            return values;
        }

        /// <summary>Reads a NUL-terminated string of at most <paramref name="maxLength"/> bytes (for a char *).</summary>
        public string ReadString(int maxLength = 256)
        {
            if (maxLength <= 0) throw new ArgumentOutOfRangeException(nameof(maxLength));
            byte[] bytes = Context.ReadBytesAsync(Address, maxLength, "char[]", CancellationToken.None).GetAwaiter().GetResult();
            return ValueDecoder.DecodeText(bytes, 0, bytes.Length);
        }

        /// <summary>A pointer <paramref name="elements"/> elements further (C pointer arithmetic).</summary>
        public KernelPointer Add(long elements) =>
            new KernelPointer(_context, unchecked(Address + (ulong)(elements * (long)Math.Max(1UL, TargetType.Size))), TargetType);

        private KernelContext Context => _context ?? throw new InvalidOperationException("This pointer was made without a kernel to read from.");

        /// <summary>"0xffff888003a1c000", with "&lt;symbol+0x10&gt;" after it when it points into the kernel image's symbols.</summary>
        public override string ToString()
        {
            string hex = KernelObjectException.Hex(Address);
            string? symbol = Address == 0 ? null : Symbol;
            return symbol == null ? hex : hex + " <" + symbol + ">";
        }

        public override bool Equals(object? obj) => obj is KernelPointer p && p.Address == Address;

        public override int GetHashCode() => Address.GetHashCode();
    }
}

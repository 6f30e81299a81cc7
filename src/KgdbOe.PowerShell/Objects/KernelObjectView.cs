using System;
using System.Globalization;
using KgdbOe.Kernel;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// A typed kernel object as PowerShell sees it: <see cref="KernelObjectAdapter"/> gives it the C members as
    /// properties. (The decoding lives in KgdbOe.Core's <see cref="KernelObject"/>; this wrapper lives in the module's own
    /// assembly so PowerShell can attach the adapter to it by type name.)
    /// </summary>
    public sealed class KernelObjectView
    {
        internal KernelObjectView(KernelObject value) => Object = value;

        /// <summary>The decoded object.</summary>
        public KernelObject Object { get; }

        /// <summary>The member at <paramref name="path"/> ("se.vruntime", "mem[0].base").</summary>
        public object? GetMember(string path) => KernelViews.Wrap(Object.GetMember(path));

        /// <summary>A pointer to the member at <paramref name="path"/> (C's &amp;obj-&gt;path).</summary>
        public KernelPointerView GetAddressOf(string path) => new KernelPointerView(Object.GetAddressOf(path));

        /// <summary>A pointer to this object: .Read() reads it again.</summary>
        public KernelPointerView ToPointer() => new KernelPointerView(Object.ToPointer());

        /// <summary>The object's bytes as read.</summary>
        public byte[] GetBytes() => Object.GetBytes();

        public override string ToString() => Object.ToString();
    }

    /// <summary>A pointer read from the kernel, as PowerShell sees it: hex, its target type, followable with Read().</summary>
    public sealed class KernelPointerView
    {
        internal KernelPointerView(KernelPointer pointer) => Pointer = pointer;

        /// <summary>The decoded pointer.</summary>
        public KernelPointer Pointer { get; }

        /// <summary>Where it points.</summary>
        public ulong Address => Pointer.Address;

        /// <summary>The pointed-to type ("struct task_struct"), as Read-KernelObject -Type takes it.</summary>
        public string Type => Pointer.Type;

        /// <summary>True for NULL.</summary>
        public bool IsNull => Pointer.IsNull;

        /// <summary>True for a function pointer.</summary>
        public bool IsFunction => Pointer.IsFunction;

        /// <summary>The symbol it points into, or null.</summary>
        public string? Symbol => Pointer.Symbol;

        /// <summary>Reads what it points to (one read of sizeof(target)).</summary>
        public KernelObjectView Read() => new KernelObjectView(Pointer.Read());

        /// <summary>Reads what it points to as <paramref name="type"/> (for a void * or a cast).</summary>
        public KernelObjectView Read(string type) => new KernelObjectView(Pointer.Read(type));

        /// <summary>Reads <paramref name="count"/> consecutive objects of the target type.</summary>
        public object?[] ReadArray(int count) => (object?[])KernelViews.Wrap(Pointer.ReadArray(count))!;

        /// <summary>Reads a NUL-terminated string (for a char *).</summary>
        public string ReadString(int maxLength = 256) => Pointer.ReadString(maxLength);

        /// <summary>A pointer <paramref name="elements"/> elements further.</summary>
        public KernelPointerView Add(long elements) => new KernelPointerView(Pointer.Add(elements));

        public override string ToString() => Pointer.ToString();

        public override bool Equals(object? obj) => obj is KernelPointerView p && p.Address == Address;

        public override int GetHashCode() => Address.GetHashCode();
    }

    /// <summary>Wraps decoded values for PowerShell: objects and pointers get their views, arrays element by element.</summary>
    internal static class KernelViews
    {
        public static object? Wrap(object? value)
        {
            switch (value)
            {
                case KernelObject o: return new KernelObjectView(o);
                case KernelPointer p: return new KernelPointerView(p);
                case object?[] array:
                    {
                        var wrapped = new object?[array.Length];
                        for (int i = 0; i < array.Length; i++) wrapped[i] = Wrap(array[i]);
                        return wrapped;
                    }
                default: return value;
            }
        }
    }
}

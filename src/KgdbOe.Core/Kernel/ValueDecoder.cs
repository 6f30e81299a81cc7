using System;
using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using KgdbOe.Types;

namespace KgdbOe.Kernel
{
    /// <summary>
    /// Turns bytes of the kernel's memory (x86-64: little-endian, LP64) into .NET values by BTF type:
    /// integers as sbyte/short/int/long or byte/ushort/uint/ulong (BigInteger for 128-bit), _Bool as bool, floats,
    /// enums as <see cref="KernelEnumValue"/>, char arrays as text up to the first NUL, other arrays as object[],
    /// structs and unions as <see cref="KernelObject"/> over the same buffer, pointers as <see cref="KernelPointer"/>.
    /// </summary>
    internal static class ValueDecoder
    {
        /// <summary>
        /// Decodes the value of <paramref name="type"/> at byte <paramref name="offset"/> of <paramref name="buffer"/>, which
        /// holds kernel memory starting at <paramref name="bufferAddress"/>.
        /// </summary>
        public static object? Decode(KernelContext context, KernelType type, byte[] buffer, int offset, ulong bufferAddress)
        {
            KernelType resolved = type.Resolve();
            CheckBounds(type, buffer, offset, resolved.Size);
            switch (resolved)
            {
                case IntType it:
                    if (it.Bits != 0 && (it.Bits != it.Size * 8 || it.BitOffset != 0))
                        return DecodeBits(it, buffer, (ulong)offset * 8 + it.BitOffset, it.Bits);
                    return DecodeInt(it, buffer, offset);
                case EnumType et:
                    return new KernelEnumValue(et, ReadInteger(buffer, offset, (int)et.Size, et.IsSigned));
                case FloatType ft:
                    return ft.Size == 4 ? (object)BitConverter.ToSingle(buffer, offset)
                         : ft.Size == 8 ? BitConverter.ToDouble(buffer, offset)
                         : Slice(buffer, offset, (int)ft.Size);
                case PointerType pt:
                    return new KernelPointer(context, BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(offset)), pt.Target);
                case ArrayType at:
                    return DecodeArray(context, at, buffer, offset, bufferAddress);
                case StructType _:
                    return new KernelObject(context, bufferAddress + (ulong)offset, type, buffer, offset);
                default:
                    return null; // void, forward, function: nothing to show
            }
        }

        /// <summary>Decodes a member, bit fields included.</summary>
        public static object? DecodeField(KernelContext context, KernelField field, byte[] buffer, int objectOffset, ulong bufferAddress)
        {
            if (field.BitFieldSize == 0)
                return Decode(context, field.Type, buffer, objectOffset + (int)field.Offset, bufferAddress);
            ulong bit = (ulong)objectOffset * 8 + field.BitOffset;
            KernelType resolved = field.Type.Resolve();
            CheckBounds(field.Type, buffer, (int)(bit / 8), (bit % 8 + field.BitFieldSize + 7) / 8);
            switch (resolved)
            {
                case EnumType et:
                    {
                        ulong raw = ExtractBits(buffer, bit, field.BitFieldSize);
                        long value = et.IsSigned ? SignExtend(raw, field.BitFieldSize) : (long)raw;
                        return new KernelEnumValue(et, value);
                    }
                case IntType it:
                    return DecodeBits(it, buffer, bit, field.BitFieldSize);
                default:
                    return ExtractBits(buffer, bit, field.BitFieldSize);
            }
        }

        /// <summary>True for the element type of a text array: char (BTF_INT_CHAR, or named "char").</summary>
        public static bool IsTextElement(KernelType element) =>
            element.Resolve() is IntType it && it.Size == 1 && !it.IsBool && (it.IsChar || it.Name == "char");

        /// <summary>Text up to the first NUL (or the whole span), as UTF-8.</summary>
        public static string DecodeText(byte[] buffer, int offset, int length)
        {
            int end = Array.IndexOf(buffer, (byte)0, offset, length);
            int count = (end < 0 ? offset + length : end) - offset;
            return Encoding.UTF8.GetString(buffer, offset, count);
        }

        private static object? DecodeArray(KernelContext context, ArrayType at, byte[] buffer, int offset, ulong bufferAddress)
        {
            KernelType element = at.Element;
            if (IsTextElement(element)) return DecodeText(buffer, offset, (int)at.Length);
            ulong size = element.Size;
            var values = new object?[at.Length];
            for (int i = 0; i < values.Length; i++)
                values[i] = Decode(context, element, buffer, checked(offset + (int)((ulong)i * size)), bufferAddress);
            return values;
        }

        private static object DecodeInt(IntType it, byte[] buffer, int offset)
        {
            if (it.IsBool) return buffer[offset] != 0;
            switch (it.Size)
            {
                case 1: return it.IsSigned ? (object)(sbyte)buffer[offset] : buffer[offset];
                case 2: return it.IsSigned ? (object)BinaryPrimitives.ReadInt16LittleEndian(buffer.AsSpan(offset)) : BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(offset));
                case 4: return it.IsSigned ? (object)BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(offset)) : BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(offset));
                case 8: return it.IsSigned ? (object)BinaryPrimitives.ReadInt64LittleEndian(buffer.AsSpan(offset)) : BinaryPrimitives.ReadUInt64LittleEndian(buffer.AsSpan(offset));
                case 16:
                    {
                        var bytes = new byte[17]; // a trailing 0 keeps an unsigned value positive
                        Buffer.BlockCopy(buffer, offset, bytes, 0, 16);
                        if (it.IsSigned && (bytes[15] & 0x80) != 0) bytes[16] = 0xff;
                        return new BigInteger(bytes);
                    }
                default:
                    return Slice(buffer, offset, (int)it.Size);
            }
        }

        private static object DecodeBits(IntType it, byte[] buffer, ulong bit, uint bits)
        {
            ulong raw = ExtractBits(buffer, bit, bits);
            if (it.IsBool) return raw != 0;
            if (it.IsSigned)
            {
                long v = SignExtend(raw, bits);
                return it.Size switch { 1 => (object)(sbyte)v, 2 => (short)v, 4 => (int)v, _ => v };
            }
            return it.Size switch { 1 => (object)(byte)raw, 2 => (ushort)raw, 4 => (uint)raw, _ => raw };
        }

        /// <summary>
        /// <paramref name="bits"/> bits (1..64) starting at bit <paramref name="bit"/> of the buffer, little-endian bit
        /// numbering (bit 0 is the low bit of byte 0), as the kernel's BTF lays bit fields out on x86-64.
        /// </summary>
        public static ulong ExtractBits(byte[] buffer, ulong bit, uint bits)
        {
            if (bits == 0 || bits > 64) throw new ArgumentOutOfRangeException(nameof(bits), bits, "A bit field is 1 to 64 bits wide.");
            int first = (int)(bit / 8);
            int shift = (int)(bit % 8);
            int bytes = (shift + (int)bits + 7) / 8; // at most 9
            ulong lo = 0;
            for (int i = 0; i < Math.Min(bytes, 8); i++) lo |= (ulong)buffer[first + i] << (8 * i);
            ulong value = lo >> shift;
            if (bytes == 9) value |= (ulong)buffer[first + 8] << (64 - shift);
            return bits == 64 ? value : value & ((1UL << (int)bits) - 1);
        }

        private static long SignExtend(ulong raw, uint bits) =>
            bits >= 64 ? (long)raw : ((long)(raw << (64 - (int)bits))) >> (64 - (int)bits);

        private static long ReadInteger(byte[] buffer, int offset, int size, bool signed) => size switch
        {
            1 => signed ? (sbyte)buffer[offset] : buffer[offset],
            2 => signed ? BinaryPrimitives.ReadInt16LittleEndian(buffer.AsSpan(offset)) : BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(offset)),
            4 => signed ? BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(offset)) : BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(offset)),
            8 => BinaryPrimitives.ReadInt64LittleEndian(buffer.AsSpan(offset)),
            _ => throw new KernelLayoutException($"An enum of {size} bytes is not supported.", size.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };

        private static byte[] Slice(byte[] buffer, int offset, int length)
        {
            var bytes = new byte[length];
            Buffer.BlockCopy(buffer, offset, bytes, 0, length);
            return bytes;
        }

        private static void CheckBounds(KernelType type, byte[] buffer, int offset, ulong size)
        {
            if (offset < 0 || (ulong)offset + size > (ulong)buffer.Length)
                throw new KernelLayoutException(
                    $"A value of type '{type.DisplayName}' ({size} bytes at byte {offset}) lies outside the {buffer.Length} bytes read.", type.DisplayName);
        }
    }
}

using System;
using System.Buffers.Binary;
using System.Text;

namespace KgdbOe.Capture
{
    /// <summary>
    /// The few ELF64 structures an x86-64 kernel core needs, written little-endian: the file header, program headers
    /// and notes. Shapes from the System V gABI (ELF-64 Object File Format 1.5) and the kernel's include/uapi/linux/elf.h;
    /// the kdump layout (one PT_NOTE first, then PT_LOADs with physical and direct-map virtual addresses) is that of
    /// fs/proc/vmcore.c. No library writes ELF cores on netstandard2.0 while streaming (ELFSharp only reads;
    /// LibObjectFile builds whole files in memory and ships net8.0+ only), so this is written here.
    /// </summary>
    public static class ElfCore
    {
        /// <summary>Size of the ELF64 file header in bytes.</summary>
        public const int HeaderSize = 64;

        /// <summary>Size of one ELF64 program header in bytes.</summary>
        public const int ProgramHeaderSize = 56;

        /// <summary>PT_LOAD: a segment of memory.</summary>
        public const uint PtLoad = 1;

        /// <summary>PT_NOTE: the notes.</summary>
        public const uint PtNote = 4;

        /// <summary>NT_PRSTATUS: one CPU's registers and the pid it ran.</summary>
        public const uint NtPrStatus = 1;

        /// <summary>Size of x86-64's struct elf_prstatus (include/linux/elfcore.h): 112 bytes of header, 27 registers, pr_fpvalid and padding.</summary>
        public const int PrStatusSize = 336;

        /// <summary>
        /// The file header of an x86-64 ET_CORE with <paramref name="programHeaderCount"/> program headers right after it.
        /// With <paramref name="complete"/> false the magic is zeros, so no reader takes an unfinished file for a core.
        /// </summary>
        public static byte[] FileHeader(int programHeaderCount, bool complete)
        {
            if (programHeaderCount < 0 || programHeaderCount > 0xfffe) throw new ArgumentOutOfRangeException(nameof(programHeaderCount));
            var h = new byte[HeaderSize];
            if (complete)
            {
                h[0] = 0x7f; h[1] = (byte)'E'; h[2] = (byte)'L'; h[3] = (byte)'F';
            }
            h[4] = 2;  // ELFCLASS64
            h[5] = 1;  // ELFDATA2LSB
            h[6] = 1;  // EV_CURRENT
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(16), 4);   // e_type ET_CORE
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(18), 62);  // e_machine EM_X86_64
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(20), 1);   // e_version
            BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(32), HeaderSize); // e_phoff
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(52), HeaderSize); // e_ehsize
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(54), ProgramHeaderSize);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(56), (ushort)programHeaderCount);
            return h;
        }

        /// <summary>One program header (flags: PF_X 1, PF_W 2, PF_R 4).</summary>
        public static void ProgramHeader(Span<byte> into, uint type, uint flags, ulong offset, ulong virtualAddress,
            ulong physicalAddress, ulong fileSize, ulong memorySize)
        {
            if (into.Length < ProgramHeaderSize) throw new ArgumentException("A program header needs 56 bytes.", nameof(into));
            into.Slice(0, ProgramHeaderSize).Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(into, type);
            BinaryPrimitives.WriteUInt32LittleEndian(into.Slice(4), flags);
            BinaryPrimitives.WriteUInt64LittleEndian(into.Slice(8), offset);
            BinaryPrimitives.WriteUInt64LittleEndian(into.Slice(16), virtualAddress);
            BinaryPrimitives.WriteUInt64LittleEndian(into.Slice(24), physicalAddress);
            BinaryPrimitives.WriteUInt64LittleEndian(into.Slice(32), fileSize);
            BinaryPrimitives.WriteUInt64LittleEndian(into.Slice(40), memorySize);
            // p_align 0, as /proc/vmcore has it.
        }

        /// <summary>An ELF note: namesz, descsz, type, the name with its NUL padded to 4 bytes, the description padded to 4.</summary>
        public static byte[] Note(string name, uint type, byte[] description)
        {
            if (name == null) throw new ArgumentNullException(nameof(name));
            if (description == null) throw new ArgumentNullException(nameof(description));
            byte[] nameBytes = Encoding.ASCII.GetBytes(name);
            int nameSize = nameBytes.Length + 1;
            var note = new byte[12 + Align4(nameSize) + Align4(description.Length)];
            BinaryPrimitives.WriteUInt32LittleEndian(note.AsSpan(0), (uint)nameSize);
            BinaryPrimitives.WriteUInt32LittleEndian(note.AsSpan(4), (uint)description.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(note.AsSpan(8), type);
            Buffer.BlockCopy(nameBytes, 0, note, 12, nameBytes.Length);
            Buffer.BlockCopy(description, 0, note, 12 + Align4(nameSize), description.Length);
            return note;
        }

        /// <summary>
        /// The description of an x86-64 NT_PRSTATUS (struct elf_prstatus): pr_pid at byte 32, then pr_reg at byte 112 as
        /// struct user_regs_struct (arch/x86/include/asm/user_64.h): r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi
        /// orig_rax rip cs eflags rsp ss fs_base gs_base ds es fs gs, 8 bytes each. <paramref name="register"/> gives a
        /// register's value by that name, or null when the target did not say (written as 0; orig_rax as -1).
        /// </summary>
        public static byte[] PrStatus(int pid, Func<string, ulong?> register)
        {
            if (register == null) throw new ArgumentNullException(nameof(register));
            var d = new byte[PrStatusSize];
            BinaryPrimitives.WriteInt32LittleEndian(d.AsSpan(32), pid);
            for (int i = 0; i < UserRegs.Length; i++)
            {
                ulong value = register(UserRegs[i]) ?? (UserRegs[i] == "orig_rax" ? ulong.MaxValue : 0);
                BinaryPrimitives.WriteUInt64LittleEndian(d.AsSpan(112 + i * 8), value);
            }
            return d;
        }

        /// <summary>The register names of struct user_regs_struct in order.</summary>
        public static readonly string[] UserRegs =
        {
            "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi",
            "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs",
        };

        private static int Align4(int n) => (n + 3) & ~3;
    }
}

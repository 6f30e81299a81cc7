using System.Globalization;
using KgdbOe.Client;

namespace KgdbOe.PowerShell
{
    /// <summary>One register of a stopped thread or CPU; its value is named by symbol when it points into the kernel.</summary>
    public sealed class KernelRegister
    {
        internal KernelRegister(KernelTargetSession target, Register register, string? threadId)
        {
            Target = target;
            Register = register;
            ThreadId = threadId;
            Location = target.Describe(register.Value);
        }

        public KernelTargetSession Target { get; }
        public string Name => Register.Name;
        public ulong Value => Register.Value;
        public int Size => Register.Size;
        public string? Location { get; }
        public string? ThreadId { get; }
        public Register Register { get; }

        /// <summary>"rip=0xffffffffb94638f0 (__x64_sys_getppid)"; 4-byte registers get 8 digits.</summary>
        public override string ToString() =>
            Name + "=0x" + Value.ToString(Size <= 4 ? "x8" : "x16", CultureInfo.InvariantCulture) + (Location == null ? "" : " (" + Location + ")");
    }
}

using KgdbOe.Kernel;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// A loaded module as /proc/modules shows it. Address and Type ("struct module") let it be piped into
    /// Read-KernelObject; Base is where its code starts.
    /// </summary>
    public sealed class KernelModule
    {
        internal KernelModule(KernelTargetSession target, KernelModuleInfo info)
        {
            Target = target;
            Info = info;
        }

        public KernelTargetSession Target { get; }

        /// <summary>What the kernel's struct module said.</summary>
        public KernelModuleInfo Info { get; }

        /// <summary>module->name.</summary>
        public string Name => Info.Name;

        /// <summary>The size /proc/modules prints.</summary>
        public ulong Size => Info.Size;

        /// <summary>Live, Loading, Unloading (the words of /proc/modules) or Unformed.</summary>
        public string State => Info.State;

        /// <summary>module->state by its enum module_state name.</summary>
        public KernelEnumValue? StateValue => Info.StateValue;

        /// <summary>The reference count /proc/modules prints, or null without CONFIG_MODULE_UNLOAD.</summary>
        public int? RefCount => Info.RefCount;

        /// <summary>Where its code starts (the address /proc/modules prints).</summary>
        public ulong Base => Info.Base;

        /// <summary>The address of its struct module.</summary>
        public ulong Address => Info.Address;

        /// <summary>Its C type, for Read-KernelObject.</summary>
        public string Type => "struct module";

        public override string ToString() => Info.Name;
    }
}

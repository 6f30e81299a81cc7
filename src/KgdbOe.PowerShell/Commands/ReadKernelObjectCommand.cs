using System.Management.Automation;
using System.Threading.Tasks;
using KgdbOe.Kernel;
using KgdbOe.Types;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Reads a typed object at an address: one read of sizeof(type), the C members as properties. Pointers, tasks,
    /// modules and typed objects piped in bind -Address and -Type by property name.
    /// </summary>
    [Cmdlet(VerbsCommunications.Read, "KernelObject")]
    [OutputType(typeof(KernelObjectView))]
    public sealed class ReadKernelObjectCommand : KernelObjectCmdlet
    {
        /// <summary>A number, hex text, symbol+offset, or an object with an address (a pointer, a task, a typed object).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("KernelAddress")]
        [KernelObjectAddressTransformation]
        [ArgumentCompleter(typeof(SymbolNameCompleter))]
        public KernelAddress Address { get; set; } = null!;

        /// <summary>The C type: "task_struct", "struct task_struct", "unsigned long", "struct list_head *".</summary>
        [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
        [Alias("KernelType")]
        [ArgumentCompleter(typeof(TypeNameCompleter))]
        public string Type { get; set; } = null!;

        /// <summary>Read this many consecutive objects (an array) in one read.</summary>
        [Parameter]
        [ValidateRange(1, 1_000_000)]
        public int Count { get; set; } = 1;

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            ulong address = Resolve(session, Address);
            KernelContext context = GetContext(session);
            KernelType type = Kernel(session, Type, () => context.FindType(Type));
            ulong size = type.Size;
            if (size == 0)
                throw Fail(KgdbOeErrorId.BadArgument, ErrorCategory.InvalidArgument, Type,
                    $"The type '{type.DisplayName}' has no size (void, a function or an incomplete struct): name a type with a size.");
            if (Count == 1)
            {
                WriteObject(new KernelObjectView(Kernel(session, address, ct => context.ReadObjectAsync(address, type, ct))));
                return;
            }
            byte[] bytes = Kernel(session, address, ct => context.ReadBytesAsync(address, checked((int)(size * (ulong)Count)), type.DisplayName + "[" + Count + "]", ct));
            KernelObject[] objects = Kernel(session, address, () => context.Split(address, type, bytes));
            foreach (KernelObject o in objects) WriteObject(new KernelObjectView(o));
        }
    }
}

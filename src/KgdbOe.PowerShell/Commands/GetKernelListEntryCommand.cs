using System.Management.Automation;
using KgdbOe.Kernel;
using KgdbOe.Types;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Walks a kernel list_head (or, with -Hlist, an hlist_head) into typed entries: each node is the -Member of a -Type
    /// entry (container_of), as list_for_each_entry does. One read per entry. Entries stream out as they are read; a
    /// cycle (KgdbOe.ListCycle) or an unreadable node (KgdbOe.BadPointer) ends the walk with an error after them.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "KernelListEntry")]
    [OutputType(typeof(KernelObjectView))]
    public sealed class GetKernelListEntryCommand : KernelObjectCmdlet
    {
        /// <summary>The list head: an address, a symbol, or a list_head / hlist_head member of a typed object.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        [KernelObjectAddressTransformation]
        [ArgumentCompleter(typeof(SymbolNameCompleter))]
        public KernelAddress Head { get; set; } = null!;

        /// <summary>The type of the entries ("task_struct").</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [ArgumentCompleter(typeof(TypeNameCompleter))]
        public string Type { get; set; } = null!;

        /// <summary>The entry's member that links it into the list ("tasks", "se.group_node").</summary>
        [Parameter(Mandatory = true, Position = 2)]
        [ArgumentCompleter(typeof(MemberNameCompleter))]
        public string Member { get; set; } = null!;

        /// <summary>The head is an hlist_head and the member an hlist_node (NULL-terminated).</summary>
        [Parameter]
        public SwitchParameter Hlist { get; set; }

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            ulong head = Resolve(session, Head);
            KernelContext context = GetContext(session);
            KernelType type = Kernel(session, Type, () => context.FindType(Type));
            KernelListWalker walker = Kernel(session, Type + "." + Member, () =>
                Hlist ? KernelListWalker.ForHlist(context, head, type, Member) : KernelListWalker.ForList(context, head, type, Member));
            while (true)
            {
                KernelObject? entry = Kernel(session, head, ct => walker.NextAsync(ct));
                if (entry == null) break;
                WriteObject(new KernelObjectView(entry));
            }
        }
    }
}

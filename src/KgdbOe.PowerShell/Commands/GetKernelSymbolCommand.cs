using System.Linq;
using System.Management.Automation;
using KgdbOe.Symbols;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// Looks up symbols at their run-time addresses: by name (wildcards allowed) or, with -Address,
    /// the symbol an address falls in (symbol+offset).
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "KernelSymbol", DefaultParameterSetName = ByName)]
    [OutputType(typeof(KernelSymbol))]
    public sealed class GetKernelSymbolCommand : KernelTargetCmdlet
    {
        private const string ByName = "Name";
        private const string ByAddress = "Address";

        /// <summary>Symbol names; wildcards list every match (do_sys_*).</summary>
        [Parameter(Position = 0, ParameterSetName = ByName)]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(SymbolNameCompleter))]
        public string[]? Name { get; set; }

        /// <summary>Addresses to name: the symbol each lies in, with the offset.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ByAddress, ValueFromPipelineByPropertyName = true)]
        [KernelAddressTransformation]
        public KernelAddress[] Address { get; set; } = new KernelAddress[0];

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            SymbolTable symbols = session.Symbols ?? throw Fail(KgdbOeErrorId.UnknownSymbol, ErrorCategory.ObjectNotFound, session,
                $"The session '{session.Name}' has no symbols: connect with -SystemMap, -Vmlinux or -Kallsyms.");

            if (ParameterSetName == ByAddress)
            {
                foreach (KernelAddress address in Address) Guard(() => WriteLocation(session, symbols, address));
                return;
            }

            foreach (string name in Name ?? new[] { "*" })
            {
                if (!WildcardPattern.ContainsWildcardCharacters(name))
                {
                    if (symbols.TryGetAddress(name, out ulong address))
                        WriteObject(new KernelSymbol(session, name, address));
                    else
                        WriteError(Fail(KgdbOeErrorId.UnknownSymbol, ErrorCategory.ObjectNotFound, name,
                            $"The symbol '{name}' is not in the symbols of '{session.Name}'.").ErrorRecord);
                    continue;
                }

                var pattern = new WildcardPattern(name, WildcardOptions.None);
                foreach (string match in session.SortedSymbolNames.Where(n => pattern.IsMatch(n)))
                {
                    if (symbols.TryGetAddress(match, out ulong address)) WriteObject(new KernelSymbol(session, match, address));
                }
            }
        }

        private void WriteLocation(KernelTargetSession session, SymbolTable symbols, KernelAddress address)
        {
            ulong value = Resolve(session, address);
            SymbolLocation? location = symbols.Lookup(value);
            if (location == null)
                throw Fail(KgdbOeErrorId.UnknownSymbol, ErrorCategory.ObjectNotFound, address.ToString(),
                    $"No symbol holds 0x{value:x16}.");
            WriteObject(new KernelSymbol(session, location.Name, location.SymbolAddress, location.Offset));
        }
    }
}

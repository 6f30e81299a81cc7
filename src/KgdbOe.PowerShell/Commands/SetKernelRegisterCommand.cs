using System.Linq;
using System.Management.Automation;
using KgdbOe.Client;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>Writes one register of the stopped CPU. The value may be a symbol: Set-KernelRegister rip do_exit+4.</summary>
    [Cmdlet(VerbsCommon.Set, "KernelRegister", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(void))]
    public sealed class SetKernelRegisterCommand : KernelTargetCmdlet
    {
        /// <summary>The register (rax, rip, eflags...).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(RegisterNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string Name { get; set; } = "";

        /// <summary>The new value: a number, hex text or symbol+offset.</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [KernelAddressTransformation]
        [ArgumentCompleter(typeof(SymbolNameCompleter))]
        public KernelAddress Value { get; set; } = null!;

        protected override void ProcessRecordCore()
        {
            KernelTargetSession session = Session;
            ulong value = Resolve(session, Value);

            // Check the name against what the target has, so a typo is a clear error, not a protocol one.
            RegisterSet registers = Call(session, Name, ErrorCategory.ReadError, (client, ct) => client.ReadRegistersAsync(null, ct));
            Register? register = registers.FirstOrDefault(r => string.Equals(r.Name, Name, System.StringComparison.OrdinalIgnoreCase));
            if (register == null)
                throw Fail(KgdbOeErrorId.UnknownRegister, ErrorCategory.ObjectNotFound, Name,
                    $"The target has no register '{Name}'. It has: {string.Join(", ", registers.Select(r => r.Name))}.");

            if (!ShouldProcess($"{register.Name} on {session.Name}", $"Set to {Show(session, value)}")) return;
            Call(session, register.Name, ErrorCategory.WriteError, (client, ct) => client.WriteRegisterAsync(register.Name, value, ct));
        }
    }
}

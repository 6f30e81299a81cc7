using System.Management.Automation;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// PowerShell calls this when the module is imported and removed: install the dependency
    /// loader first, close this runspace's connections last.
    /// </summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        public void OnImport()
        {
            DependencyLoader.Install();
            KernelObjectAdapter.Register(); // typed kernel objects show their C members as properties
        }

        public void OnRemove(PSModuleInfo psModuleInfo) => SessionRegistry.Current.CloseAll();
    }
}

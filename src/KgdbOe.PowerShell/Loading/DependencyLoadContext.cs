using System.IO;
using System.Reflection;
using System.Runtime.Loader;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// PowerShell 7 only: the load context that holds our dependencies. The module assembly stays in
    /// the default context (PowerShell loads it there); when it first needs KgdbOe.Core or SSH.NET,
    /// the default context asks us and we hand out the copy from this context. Everything those
    /// assemblies need in turn is found here first, so a different version loaded by another
    /// module never gets in.
    /// </summary>
    internal sealed class DependencyLoadContext : AssemblyLoadContext
    {
        private readonly string _folder;

        // Assemblies the runtime or PowerShell itself ships (System.Memory, System.Formats.Asn1...)
        // are always taken from there: a netstandard copy of them would be a second, incompatible type universe.
        private static readonly string RuntimeFolder = Path.GetDirectoryName(typeof(object).Assembly.Location) ?? "";
        private static readonly string PowerShellFolder = Path.GetDirectoryName(typeof(System.Management.Automation.PSObject).Assembly.Location) ?? "";

        private DependencyLoadContext(string folder) { _folder = folder; }

        public static void Install(string folder)
        {
            var context = new DependencyLoadContext(folder);
            Default.Resolving += (_, name) => context.Owns(name) ? context.LoadFromAssemblyName(name) : null;
        }

        protected override Assembly? Load(AssemblyName name) =>
            Owns(name) ? LoadFromAssemblyPath(PathOf(name)) : null;

        private bool Owns(AssemblyName name) =>
            name.Name != null && File.Exists(PathOf(name)) && !ShippedWithPlatform(name.Name);

        private string PathOf(AssemblyName name) => Path.Combine(_folder, name.Name + ".dll");

        private static bool ShippedWithPlatform(string name) =>
            File.Exists(Path.Combine(RuntimeFolder, name + ".dll")) || File.Exists(Path.Combine(PowerShellFolder, name + ".dll"));
    }
}

using System;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// Loads the module's dependencies (KgdbOe.Core, SSH.NET, ELFSharp...) from the package's
    /// lib/ folder. On PowerShell 7 they go into an AssemblyLoadContext of their own, so another
    /// module's copy of the same library, loaded before or after us, never clashes with ours.
    /// On Windows PowerShell 5.1 (no load contexts) they are loaded from lib/ on demand.
    /// A development build with no lib/ folder loads everything the ordinary way.
    /// PowerShell scans the module's public types before it calls OnImport, so no public type here
    /// may hold a field of a dependency's value type (an enum from KgdbOe.Core, say): loading that
    /// type would need the dependency before this loader exists. Store such values as int.
    /// </summary>
    internal static class DependencyLoader
    {
        public const string FolderName = "lib";

        private static readonly object Gate = new object();
        private static bool _installed;

        public static void Install()
        {
            string moduleFolder = Path.GetDirectoryName(typeof(DependencyLoader).Assembly.Location) ?? "";
            string folder = Path.Combine(moduleFolder, FolderName);
            if (!Directory.Exists(folder)) return;

            lock (Gate)
            {
                if (_installed) return;
                _installed = true;
                if (IsNetFramework) InstallForNetFramework(folder);
                else InstallLoadContext(folder);
            }
        }

        private static bool IsNetFramework => typeof(object).Assembly.GetName().Name == "mscorlib";

        private static void InstallForNetFramework(string folder)
        {
            AppDomain.CurrentDomain.AssemblyResolve += (_, e) =>
            {
                string path = Path.Combine(folder, new AssemblyName(e.Name).Name + ".dll");
                return File.Exists(path) ? Assembly.LoadFrom(path) : null;
            };
        }

        // Kept apart so Windows PowerShell never has to load the AssemblyLoadContext type.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void InstallLoadContext(string folder) => DependencyLoadContext.Install(folder);
    }
}

using System.Linq;
using KgdbOe.Symbols;
using KgdbOe.Tests.Lab;
using Xunit;

namespace KgdbOe.Tests.Symbols
{
    /// <summary>System.map and vmlinux of the real lab kernel agree.</summary>
    public class LabKernelSymbolsTests
    {
        [LabFact]
        public void System_map_and_vmlinux_agree_on_the_kernel_symbols()
        {
            LabState lab = LabState.Load();
            SymbolTable map = SymbolTable.FromSystemMap(lab.SystemMap);
            SymbolTable elf = SymbolTable.FromElf(lab.Vmlinux);
            Assert.True(map.Count > 10000);
            foreach (string name in new[] { "_stext", "_etext", "linux_banner", "jiffies", "__x64_sys_getppid", "kgdb_breakpoint" })
            {
                Assert.True(map.TryGetAddress(name, out ulong a), name);
                Assert.True(elf.TryGetAddress(name, out ulong b), name);
                Assert.Equal(a, b);
            }
            Assert.True(map.TryGetAddress("__x64_sys_getppid", out ulong getppid));
            Assert.Equal("__x64_sys_getppid+0x4", elf.Lookup(getppid + 4)!.ToString());
        }
    }
}

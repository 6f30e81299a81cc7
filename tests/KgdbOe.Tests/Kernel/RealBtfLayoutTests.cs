using System;
using KgdbOe.Kernel;
using KgdbOe.Tests.Types;
using KgdbOe.Types;
using Xunit;

namespace KgdbOe.Tests.Kernel
{
    /// <summary>
    /// The helpers learn their layouts from real kernels' BTF: this host's, Debian's 6.1 and the lab's 6.12 and 6.1. What
    /// they rely on is there, and the printk structs have the layout printk_ringbuffer.h documents (which the record
    /// parser's tests are built on).
    /// </summary>
    public sealed class RealBtfLayoutTests
    {
        private static KernelContext Load(string source)
        {
            string path = source == BtfSources.HostPath ? source
                : source == "stock" ? BtfSources.StockPath!
                : BtfSources.LabVmlinux(source)!;
            return new KernelContext(BtfTypeGraph.Parse(BtfSources.ReadBtf(path)), new FakeKernelMemory(), null);
        }

        // Which of the two a host kernel has depends on its version (pcpu_hot came in 6.2; newer kernels, like this
        // machine's 6.18, have the per-CPU current_task again): either is fine, one of them must be there.
        [BtfTheory("host")]
        [InlineData(BtfSources.HostPath, null)]
        public void Host(string source, bool? pcpuHot) => Check(source, pcpuHot);

        [BtfTheory("stock")]
        [InlineData("stock", false)]
        public void DebianStock61(string source, bool pcpuHot) => Check(source, pcpuHot);

        [BtfTheory("6.12")]
        [InlineData("6.12", true)]
        public void Lab612(string source, bool pcpuHot) => Check(source, pcpuHot);

        [BtfTheory("6.1")]
        [InlineData("6.1", false)]
        public void Lab61(string source, bool pcpuHot) => Check(source, pcpuHot);

        private static void Check(string source, bool? expectPcpuHot)
        {
            KernelContext context = Load(source);

            var tasks = new KernelTasks(context);
            Assert.InRange(tasks.BytesPerTask, 64, (int)tasks.TaskType.Size);
            bool pcpuHot = context.Types.FindVariable("pcpu_hot") != null;                 // 6.2 on (6.12 has it; this machine's 6.18 has not)
            if (expectPcpuHot != null) Assert.Equal(expectPcpuHot, pcpuHot);
            Assert.Equal(!pcpuHot, context.Types.FindVariable("current_task") != null);     // 6.1: the per-CPU current_task
            KernelType rq = Assert.IsType<VariableType>(context.Types.FindVariable("runqueues")).Type;
            Assert.Equal("struct rq", rq.DisplayName);
            Assert.NotNull(context.FindField(rq, "cpu"));

            var modules = new KernelModules(context);
            Assert.Equal("struct module", modules.ModuleType.DisplayName);

            PrintkLayout real = PrintkLayout.FromTypes(context);
            var documented = new PrintkLayout();
            Assert.Equal(
                (documented.DescSize, documented.DescStateVar, documented.DescBegin, documented.DescNext, documented.InfoSize, documented.InfoSeq,
                 documented.InfoTsNsec, documented.InfoTextLen, documented.InfoFacility, documented.InfoFlagsBit, documented.InfoLevelBit, documented.InfoCallerId),
                (real.DescSize, real.DescStateVar, real.DescBegin, real.DescNext, real.InfoSize, real.InfoSeq,
                 real.InfoTsNsec, real.InfoTextLen, real.InfoFacility, real.InfoFlagsBit, real.InfoLevelBit, real.InfoCallerId));
            Assert.NotNull(new PrintkLog(context));
        }
    }
}

using KgdbOe.PowerShell.Deployment;
using Xunit;

namespace KgdbOe.PowerShell.Tests.Deployment
{
    /// <summary>
    /// The module's ready line, as module-c/kgdboe_main.c prints it
    /// ("ready dev=%s ip=%pI4 port=%u mode=%s irqs=%s txqs=%u owner=%s", pr_fmt "kgdboe: "),
    /// read back from dmesg the way Install-KgdboeModule and the tests read it.
    /// </summary>
    public sealed class ReadyLineTests
    {
        private const string Line = "kgdboe: ready dev=eth0 ip=10.0.2.15 port=31337 mode=multi-core irqs=11 txqs=1 owner=builtin";

        [Fact]
        public void Reads_every_field_of_a_dmesg_line_with_a_timestamp()
        {
            var ready = ReadyLine.FindIn("[    7.123456] " + Line + "\n");
            Assert.NotNull(ready);
            Assert.Equal("eth0", ready!.Device);
            Assert.Equal("10.0.2.15", ready.DeviceIp);
            Assert.Equal(31337, ready.DevicePort);
            Assert.Equal("multi-core", ready.Mode);
            Assert.Equal(new[] { 11 }, ready.Irqs);
            Assert.Equal(1, ready.TxQueues);
            Assert.Equal("builtin", ready.Owner);
            Assert.Equal(Line, ready.Text);
            Assert.Equal(Line, ready.ToString());
        }

        [Fact]
        public void Takes_the_last_ready_line_of_the_log()
        {
            string log = string.Join("\n",
                "[    1.0] kgdboe: ready dev=eth0 ip=10.0.2.15 port=31337 mode=multi-core irqs=11 txqs=1 owner=builtin",
                "[    2.0] kgdboe: unregistered",
                "[    3.0] kgdboe: ready dev=eth1 ip=192.168.7.2 port=6443 mode=single-core irqs=24,25,26 txqs=4 owner=virtio_net",
                "[    3.1] kgdboe: attach with: target remote udp:192.168.7.2:6443");
            var ready = ReadyLine.FindIn(log)!;
            Assert.Equal("eth1", ready.Device);
            Assert.Equal(6443, ready.DevicePort);
            Assert.Equal("single-core", ready.Mode);
            Assert.Equal(new[] { 24, 25, 26 }, ready.Irqs);
            Assert.Equal(4, ready.TxQueues);
            Assert.Equal("virtio_net", ready.Owner);
        }

        [Theory]
        [InlineData("none")]
        [InlineData("-")]
        public void A_device_without_its_own_irq_has_none(string irqs)
        {
            var ready = ReadyLine.FindIn($"kgdboe: ready dev=eth0 ip=10.0.2.15 port=31337 mode=multi-core irqs={irqs} txqs=1 owner=builtin")!;
            Assert.Empty(ready.Irqs);
            Assert.Equal(irqs, ready.Fields["irqs"]);
        }

        [Fact]
        public void Keeps_unknown_keys_and_leaves_missing_ones_empty()
        {
            var ready = ReadyLine.FindIn("kgdboe: ready dev=eth0 ip=10.0.2.15 port=31337 future=yes\r")!;
            Assert.Equal("yes", ready.Fields["future"]);
            Assert.Equal("", ready.Mode);
            Assert.Equal("", ready.Owner);
            Assert.Equal(0, ready.TxQueues);
            Assert.Empty(ready.Irqs);
            Assert.Equal("kgdboe: ready dev=eth0 ip=10.0.2.15 port=31337 future=yes", ready.Text);
        }

        [Theory]
        [InlineData("port=")]
        [InlineData("port=-1")]
        [InlineData("port=99999999999")]
        [InlineData("port=0x7a69")]
        public void A_port_that_is_not_a_number_reads_as_zero(string port)
        {
            Assert.Equal(0, ReadyLine.FindIn("kgdboe: ready dev=eth0 " + port)!.DevicePort);
        }

        [Theory]
        [InlineData(null)]
        [InlineData("")]
        [InlineData("kgdboe: registered\nkgdboe: readyish dev=eth0\n")]
        [InlineData("[ 1.0] kgdboe: ready\n")]
        public void Finds_nothing_where_there_is_no_ready_line(string? log)
        {
            // The marker includes the space before the first field: a bare "kgdboe: ready" is not one.
            Assert.Null(ReadyLine.FindIn(log));
        }
    }
}

# The labs the full module suite (tests/pester/Module.Tests.ps1) runs on, as kernel:nic:cpus.
#   Full    issue 14's coverage, run by `build.ps1 Matrix`, one lab at a time, each a Pester run
#           of its own: both kernels x every lab NIC at 2 CPUs, and 1 and 4 CPUs on the two main
#           NICs (20 labs).
#   Sample  what CI (`build.ps1 Test`) runs of it, fixed (no rotation: a failure must repeat on
#           the same commit). Both kernels on the two main NICs (e1000: no NAPI-less quirks,
#           the users' usual model; virtio-net: no netpoll hook, only NAPI); plus one full run of
#           each NIC whose netpoll hook called disable_irq() (8139cp, pcnet32), on different
#           kernels so that each kernel meets one of them. e1000e and vmxnet3 (MSI/MSI-X, hooks
#           without disable_irq) get one gdb session each on 6.12 (BannerNics).
#           Cost over what CI ran before (the four main labs, and one gdb session each on
#           e1000e, vmxnet3 and pcnet): about +6 min. Measured here at a load of 10-30, boot
#           included: rtl8139 on 6.12 138 s, pcnet on 6.1 237 s (pcnet 6.12 221 s, rtl8139 6.1
#           253 s), less the pcnet banner session it replaces (about 1 min).
@{
    Full = @(
        '6.12:e1000:2', '6.12:e1000e:2', '6.12:virtio-net:2', '6.12:vmxnet3:2', '6.12:pcnet:2', '6.12:rtl8139:2'
        '6.1:e1000:2', '6.1:e1000e:2', '6.1:virtio-net:2', '6.1:vmxnet3:2', '6.1:pcnet:2', '6.1:rtl8139:2'
        '6.12:e1000:1', '6.12:e1000:4', '6.12:virtio-net:1', '6.12:virtio-net:4'
        '6.1:e1000:1', '6.1:e1000:4', '6.1:virtio-net:1', '6.1:virtio-net:4'
    )
    Sample = @(
        '6.12:e1000:2', '6.12:virtio-net:2', '6.1:e1000:2', '6.1:virtio-net:2', '6.12:rtl8139:2', '6.1:pcnet:2'
    )
    BannerNics = @('e1000e', 'vmxnet3')
}

# The lab itself: both kernels boot with what kgdboe needs, QEMU's gdbstub is a real peer,
# labs run side by side, and bad requests fail cleanly without leaving a QEMU behind.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestLab.ps1')

    function Get-QemuCount { @(Get-Process -Name 'qemu-system-x86_64' -ErrorAction Ignore).Count }

    function Get-RuntimeAddress($Lab, [string] $Symbol) {
        # KASLR is on: the guest's own kallsyms gives the runtime address.
        $line = Invoke-LabSsh -Lab $Lab -Command "grep ' $Symbol`$' /proc/kallsyms"
        [Convert]::ToUInt64(($line -split '\s+')[0], 16)
    }
}

Describe 'Lab kernel <_>' -Tag 'Lab' -ForEach '6.12', '6.1' {
    BeforeAll {
        $lab = Get-TestLab -Kernel $_ -GdbStub
    }

    It 'boots the kernel that was built' {
        (Invoke-LabSsh -Lab $lab -Command 'uname -r') | Should -Be $lab.KernelRelease
        $lab.KernelRelease | Should -Match "^$([regex]::Escape($_))\."
    }

    It 'exports what kgdboe needs' {
        $kallsyms = Invoke-LabSsh -Lab $lab -Command 'grep -wE "kgdb_register_io_module|netpoll_setup" /proc/kallsyms'
        $kallsyms | Should -Match '\skgdb_register_io_module\b'
        $kallsyms | Should -Match '\snetpoll_setup\b'
    }

    It 'lets stock gdb read linux_banner through QEMU''s gdbstub' {
        $version = Invoke-LabSsh -Lab $lab -Command 'cat /proc/version'
        $expected = [Text.Encoding]::ASCII.GetBytes($version + "`n")
        $address = Get-RuntimeAddress $lab 'linux_banner'
        $dump = New-TemporaryFile
        try {
            $end = $address + [uint64]$expected.Length
            $gdbOut = & gdb -nx -batch -ex "target remote tcp:127.0.0.1:$($lab.GdbPort)" `
                -ex ('dump binary memory {0} 0x{1:x} 0x{2:x}' -f $dump.FullName, $address, $end) -ex 'detach' 2>&1
            $LASTEXITCODE | Should -Be 0 -Because ($gdbOut -join "`n")
            [IO.File]::ReadAllBytes($dump.FullName) | Should -Be $expected
        } finally { Remove-Item $dump -ErrorAction Ignore }
        # detach let the VM run on
        Invoke-LabSsh -Lab $lab -Command 'echo alive' | Should -Be 'alive'
    }

    It 'runs the workload program' {
        Invoke-LabSsh -Lab $lab -Command 'workload 1000' | Should -Be '1000'
    }
}

Describe 'Labs side by side' -Tag 'Lab' {
    It 'runs two labs at once, each on its own ports' {
        $a = Get-TestLab -Kernel '6.12' -GdbStub
        $b = Get-TestLab -Kernel '6.1' -GdbStub
        $a.Pid | Should -Not -Be $b.Pid
        @($a.SshPort, $a.DebugPort, $a.GdbPort) | Should -Not -Contain $b.SshPort
        @($a.DebugPort) | Should -Not -Be $b.DebugPort
        Invoke-LabSsh -Lab $a -Command 'uname -r' | Should -Be $a.KernelRelease
        Invoke-LabSsh -Lab $b -Command 'uname -r' | Should -Be $b.KernelRelease
    }
}

Describe 'Bad lab requests' -Tag 'Lab' {
    It 'rejects an unknown kernel version and starts nothing' {
        $before = Get-QemuCount
        { Start-KgdbOeLab -Name 'test-bad-kernel' -Kernel '5.4' } | Should -Throw '*unknown kernel version*'
        Get-QemuCount | Should -Be $before
    }

    It 'rejects a port that is in use and starts nothing' {
        $before = Get-QemuCount
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try {
            $port = $listener.LocalEndpoint.Port
            { Start-KgdbOeLab -Name 'test-bad-port' -SshPort $port } | Should -Throw "*$port is already in use*"
        } finally { $listener.Stop() }
        Get-QemuCount | Should -Be $before
        Get-KgdbOeLab -Name 'test-bad-port' | Should -BeNullOrEmpty
    }

    It 'says so when QEMU is missing and starts nothing' {
        $before = Get-QemuCount
        { Start-KgdbOeLab -Name 'test-no-qemu' -QemuPath '/nonexistent/qemu-system-x86_64' } | Should -Throw '*QEMU not found*'
        Get-QemuCount | Should -Be $before
    }

    It 'kills QEMU when the guest never comes up' {
        $before = Get-QemuCount
        # init=/nonexistent: the kernel boots but no SSH server ever answers.
        { Start-KgdbOeLab -Name 'test-no-boot' -ExtraAppend 'init=/nonexistent rdinit=/nonexistent' -TimeoutSeconds 20 } |
            Should -Throw '*panicked*'
        Get-QemuCount | Should -Be $before
    }
}

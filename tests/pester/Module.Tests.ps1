# kgdboe, the kernel module, against real lab kernels: stock gdb attaches over UDP, reads
# memory, hits breakpoints under network load, shrugs off junk, keeps strangers out, and loads
# and unloads cleanly - the full suite on every lab of its list (kernel x NIC x CPUs).
BeforeDiscovery {
    # KGDBOE_TEST_KERNELS=6.12 (comma-separated) narrows the kernel matrix for a quick run.
    $kernels = if ($env:KGDBOE_TEST_KERNELS) { $env:KGDBOE_TEST_KERNELS -split ',' } else { '6.12', '6.1' }
    # The labs the full suite runs on, as kernel:nic:cpus entries (ModuleMatrix.psd1 says which
    # and why). KGDBOE_MODULE_LABS (comma-separated) sets them: build.ps1 Matrix runs each lab of
    # the whole matrix that way. The default is CI's sample of it.
    $matrixFile = Import-PowerShellDataFile (Join-Path $PSScriptRoot 'ModuleMatrix.psd1')
    $entries = if ($env:KGDBOE_MODULE_LABS) { $env:KGDBOE_MODULE_LABS -split ',' } else { $matrixFile.Sample }
    $mainMatrix = foreach ($e in $entries) {
        $kernel, $nic, $cpus = $e.Trim() -split ':'
        if ($kernel -in $kernels) { @{ Kernel = $kernel; Nic = $nic; Cpus = [int]$(if ($cpus) { $cpus } else { 2 }) } }
    }
    # The other NIC models get one gdb session each in the default run, so that every model the
    # lab has meets the module at every CI run. Not with KGDBOE_MODULE_LABS.
    $bannerNics = if ($env:KGDBOE_MODULE_LABS) { @() } else { $matrixFile.BannerNics }
    $nicMatrix = if ('6.12' -in $kernels) { $bannerNics } else { @() }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestLab.ps1')
    $script:ModuleDir = Join-Path $PSScriptRoot '../../module-c'
    $script:ToolDir = Join-Path $PSScriptRoot '../module'

    function Get-RuntimeAddress($Lab, [string] $Symbol) {
        # KASLR is on: the guest's own kallsyms gives the runtime address.
        $line = Invoke-LabSsh -Lab $Lab -Command "grep ' $Symbol`$' /proc/kallsyms"
        [Convert]::ToUInt64(($line -split '\s+')[0], 16)
    }

    function Install-Kgdboe($Lab, [string] $Parameters = '') {
        # Loads the module and returns the kernel log lines it printed.
        $before = [int](Invoke-LabSsh -Lab $Lab -Command 'dmesg | wc -l')
        Invoke-LabSsh -Lab $Lab -Command "insmod /tmp/kgdboe.ko $Parameters" | Out-Null
        (Invoke-LabSsh -Lab $Lab -Command "dmesg | tail -n +$($before + 1)") -split "`n"
    }

    function Uninstall-Kgdboe($Lab) {
        Invoke-LabSsh -Lab $Lab -Command 'if grep -q "^kgdboe " /proc/modules; then rmmod kgdboe; fi' | Out-Null
    }

    function ConvertFrom-ReadyLine([string[]] $Log) {
        # The module's one parser of "kgdboe: ready dev=... ip=... port=..." (ReadyLine in the
        # PowerShell assembly, also used by Install-KgdboeModule); $null when there is none.
        if (-not ('KgdbOe.PowerShell.Deployment.ReadyLine' -as [type])) {
            $root = Join-Path $PSScriptRoot '../..'
            $package = @($env:KGDBOE_PACKAGE, (Join-Path $root 'out/KgdbOe'),
                (Join-Path $root 'src/KgdbOe.PowerShell/bin/Release/netstandard2.0/KgdbOe'),
                (Join-Path $root 'src/KgdbOe.PowerShell/bin/Debug/netstandard2.0/KgdbOe')) |
                Where-Object { $_ -and (Test-Path (Join-Path $_ 'KgdbOe.psd1')) } | Select-Object -First 1
            if (-not $package) { throw 'Module.Tests: no built KgdbOe module for its ready-line parser (run build.ps1 Build)' }
            Import-Module (Join-Path $package 'KgdbOe.psd1') -Global
        }
        [KgdbOe.PowerShell.Deployment.ReadyLine]::FindIn($Log -join "`n")
    }

    function Invoke-Gdb($Lab, [string[]] $Commands, [int] $TimeoutSeconds = 120) {
        # Stock gdb in batch mode against kgdboe; returns exit code and output.
        Invoke-StockGdb -Commands (@("target remote udp:127.0.0.1:$($Lab.DebugPort)") + $Commands) -TimeoutSeconds $TimeoutSeconds
    }

    function Test-BannerSession($Lab, [string] $Version, $Address) {
        # Test 2: linux_banner read through kgdboe equals /proc/version; registers; detach.
        # A kernel already stopped cannot answer SSH: then the caller gives both beforehand.
        $version = if ($Version) { $Version } else { Invoke-LabSsh -Lab $Lab -Command 'cat /proc/version' }
        $expected = [Text.Encoding]::ASCII.GetBytes($version + "`n")
        $address = if ($Address) { $Address } else { Get-RuntimeAddress $Lab 'linux_banner' }
        $dump = New-TemporaryFile
        try {
            $gdb = Invoke-Gdb $Lab @(
                ('dump binary memory {0} 0x{1:x} 0x{2:x}' -f $dump.FullName, $address, ($address + [uint64]$expected.Length)),
                'info registers', 'detach')
            $gdb.ExitCode | Should -Be 0 -Because $gdb.Output
            [IO.File]::ReadAllBytes($dump.FullName) | Should -Be $expected -Because $gdb.Output
            $gdb.Output | Should -Match '(?m)^rip\s+0x[0-9a-f]+' -Because 'info registers shows rip'
            $gdb.Output | Should -Match '(?m)^rsp\s+0x[0-9a-f]+'
        } finally { Remove-Item $dump -ErrorAction Ignore }
        Assert-GuestAlive $Lab
    }

    function Assert-GuestAlive($Lab) {
        $alive = Invoke-LabSshCommand -Lab $Lab -Command 'echo alive' -AllowFailure
        if ($alive -ne 'alive') {
            # Seen now and then under TCG on any NIC: after the session ended the kernel sat stopped in
            # the debugger with nobody attached. One cause is known (a late copy of gdb's D opens a new
            # session whose OK nobody acks; see issue #3's note). Say so, release it with one
            # attach/detach, and only then judge: a dead kernel still fails here.
            Write-Warning "$($Lab.Name): the guest did not answer SSH after the session; trying one attach/detach"
            $null = Invoke-Gdb $Lab @('detach') -TimeoutSeconds 60
            $alive = Invoke-LabSshCommand -Lab $Lab -Command 'echo alive' -AllowFailure
        }
        $alive | Should -Be 'alive'
    }

    class RawPeer {
        # A minimal GDB-remote peer over UDP, for what stock gdb cannot script: staying attached
        # while the kernel runs.
        [System.Net.Sockets.UdpClient] $Udp
        RawPeer([int] $Port) {
            $this.Udp = [System.Net.Sockets.UdpClient]::new([System.Net.IPEndPoint]::new([System.Net.IPAddress]::Loopback, 0))
            $this.Udp.Connect([System.Net.IPAddress]::Loopback, $Port)
            $this.Udp.Client.ReceiveTimeout = 300
        }
        [void] Send([string] $Text) {
            $bytes = [Text.Encoding]::ASCII.GetBytes($Text)
            [void]$this.Udp.Send($bytes, $bytes.Length)
        }
        [string] Exchange([string] $Text, [string] $Pattern, [int] $Seconds) {
            # Sends (and resends every 300 ms) until the replies match; acks them.
            $seen = ''
            $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
            while ([DateTime]::UtcNow -lt $deadline) {
                if ($Text) { $this.Send($Text) }
                try {
                    $remote = [System.Net.IPEndPoint]::new([System.Net.IPAddress]::Any, 0)
                    while ($true) {
                        $seen += [Text.Encoding]::ASCII.GetString($this.Udp.Receive([ref]$remote))
                        if ($seen -match $Pattern) { $this.Send('+'); return $seen }
                    }
                } catch [System.Net.Sockets.SocketException] { }
            }
            throw "no reply matching '$Pattern' within $Seconds s (got '$seen')"
        }
        [void] Dispose() { $this.Udp.Dispose() }
    }
}

Describe 'kgdboe source' -Tag 'ModuleCheck' {
    # The checks themselves live in build/ModuleCheck.psm1, shared with build.ps1 Check.
    BeforeAll { Import-Module (Join-Path $PSScriptRoot '../../build/ModuleCheck.psm1') -Force }

    It 'builds without a warning (-Werror) against kernel <_>' -ForEach $kernels {
        $kdir = Join-Path (& bash (Join-Path $PSScriptRoot '../lab/build-kernel.sh') $_ | Select-Object -Last 1) 'src'
        $build = Test-KgdboeBuild -Kdir $kdir
        $build.Passed | Should -BeTrue -Because "$($build.Why): $($build.Log)"
    }

    It 'is clean under checkpatch --strict' {
        $kdir = Join-Path (& bash (Join-Path $PSScriptRoot '../lab/build-kernel.sh') '6.12' | Select-Object -Last 1) 'src'
        $check = Test-KgdboeCheckpatch -Kdir $kdir
        $check.Passed | Should -BeTrue -Because "$($check.Why): $($check.Log)"
    }
}

Describe 'kgdboe on <Kernel> with <Nic>, <Cpus> CPU(s)' -Tag 'Lab', 'Module' -ForEach $mainMatrix {
    BeforeAll {
        $lab = Get-TestLab -Kernel $Kernel -Nic $Nic -Cpus $Cpus
        $ko = Get-LabKernelModule -Lab $lab
        Invoke-LabSsh -Lab $lab -Command 'cat > /tmp/kgdboe.ko' -InputFile $ko | Out-Null
        Uninstall-Kgdboe $lab
    }
    AfterAll {
        if ($lab) { Uninstall-Kgdboe $lab }
    }

    It 'loads over SSH and logs what it hooked, and a ready line' {
        $log = Install-Kgdboe $lab
        $ready = ConvertFrom-ReadyLine $log
        $ready | Should -Not -BeNullOrEmpty -Because ($log -join "`n")
        $ready.Device | Should -Be 'eth0'
        $ready.DeviceIp | Should -Be '10.0.2.15'
        $ready.DevicePort | Should -Be 31337
        $ready.Mode | Should -Be 'multi-core'
        $ready.Fields['irqs'] | Should -Match '^\d+(,\d+)*$'
        $ready.TxQueues | Should -BeGreaterOrEqual 1
        $ready.Owner | Should -Be 'builtin'
        ($log -join "`n") | Should -Match 'IRQs disabled while stopped: \d'
        ($log -join "`n") | Should -Match 'attach with: target remote udp:10\.0\.2\.15:31337'
    }

    It 'serves stock gdb: linux_banner, info registers, detach' {
        Test-BannerSession $lab
    }

    It 'hits and continues a breakpoint 200 times under network load' {
        $soak = & (Join-Path $script:ToolDir 'gdb-soak.ps1') -Lab $lab -Count 200 -Load
        $soak.Hits | Should -Be 200 -Because $soak.GdbOutput
        $soak.GuestAlive | Should -BeTrue
        Write-Host "    $Kernel/${Nic}: 200 hits in $($soak.Seconds) s ($($soak.PerSecond)/s) under load"
    }

    It 'shrugs off 10,000 junk datagrams while running and 10,000 while stopped' {
        $before = [int](Invoke-LabSsh -Lab $lab -Command 'dmesg | wc -l')
        # Running, from a host that is not attached: nothing may start a session.
        & (Join-Path $script:ToolDir 'send-junk.ps1') -Port $lab.DebugPort -Count 10000 | Should -Match '^sent 10000'
        Invoke-LabSsh -Lab $lab -Command 'echo alive' | Should -Be 'alive'
        (Invoke-LabSsh -Lab $lab -Command "dmesg | tail -n +$($before + 1)") | Should -Not -Match 'attached'
        # Stopped: the junk comes from the attached peer, so it reaches the stub itself.
        $peer = & (Join-Path $script:ToolDir 'send-junk.ps1') -Port $lab.DebugPort -Count 10000 -AsPeer -Seed 2
        $peer | Should -Contain 'detached'
        Invoke-LabSsh -Lab $lab -Command 'echo alive' | Should -Be 'alive'
        Test-BannerSession $lab
    }

    It 'ignores a second source port while gdb is attached' {
        $before = [int](Invoke-LabSsh -Lab $lab -Command 'dmesg | wc -l')
        $address = Get-RuntimeAddress $lab 'linux_banner'
        # While gdb holds the stopped kernel, a stranger tries to take over and to detach it.
        # Even a new gdb's first packet (qSupported) is ignored: the attached one is not silent.
        $stranger = "bash -c 'for i in 1 2 3; do printf `"+`$?#3f`" > /dev/udp/127.0.0.1/$($lab.DebugPort); printf `"`$qSupported#37`" > /dev/udp/127.0.0.1/$($lab.DebugPort); printf `"`$D#44`" > /dev/udp/127.0.0.1/$($lab.DebugPort); sleep 0.2; done'"
        $gdb = Invoke-Gdb $lab @("x/s 0x$('{0:x}' -f $address)", "shell $stranger", "x/s 0x$('{0:x}' -f $address)", 'detach')
        $gdb.ExitCode | Should -Be 0 -Because $gdb.Output
        ([regex]::Matches($gdb.Output, 'Linux version')).Count | Should -Be 2 -Because $gdb.Output
        $log = Invoke-LabSsh -Lab $lab -Command "dmesg | tail -n +$($before + 1)"
        ([regex]::Matches($log, 'peer [\d.]+:\d+ attached')).Count | Should -Be 1 -Because $log
    }

    It 'hands a stopped kernel to a new gdb once the attached one has gone silent' {
        $before = [int](Invoke-LabSsh -Lab $lab -Command 'dmesg | wc -l')
        $version = Invoke-LabSsh -Lab $lab -Command 'cat /proc/version'
        $address = Get-RuntimeAddress $lab 'linux_banner'
        # A debugger stops the kernel, then dies without detaching.
        $dead = [RawPeer]::new($lab.DebugPort)
        try { $null = $dead.Exchange('$?#3f', '\$[ST][0-9a-f]{2}', 60) } finally { $dead.Dispose() }
        Start-Sleep -Seconds 11
        Test-BannerSession $lab -Version $version -Address $address
        $log = Invoke-LabSsh -Lab $lab -Command "dmesg | tail -n +$($before + 1)"
        $log | Should -Match 'peer [\d.]+:\d+ took over'
    }

    It 'refuses rmmod while a debugger is attached, and unloads after detach' {
        $peer = [RawPeer]::new($lab.DebugPort)
        try {
            $null = $peer.Exchange('$?#3f', '\$[ST][0-9a-f]{2}', 60)
            $null = $peer.Exchange('$c#63', '\+', 30)
            Start-Sleep -Milliseconds 500
            $rmmod = Invoke-LabSshCommand -Lab $lab -Command 'rmmod kgdboe 2>&1; echo rc=$?' -AllowFailure
            $rmmod | Should -Match 'rc=[1-9]'
            Invoke-LabSsh -Lab $lab -Command 'grep -c "^kgdboe " /proc/modules' | Should -Be '1'
            $null = $peer.Exchange("$([char]3)", '\$[ST][0-9a-f]{2}', 30)
            $null = $peer.Exchange('$D#44', '\$OK#9a', 30)
        } finally { $peer.Dispose() }
        Start-Sleep -Milliseconds 500
        Invoke-LabSsh -Lab $lab -Command 'rmmod kgdboe && echo unloaded' | Should -Be 'unloaded'
        Install-Kgdboe $lab | Out-Null
    }

    It 'takes every CPU but 0 offline in safety mode and brings them back on unload' {
        $all = if ($Cpus -eq 1) { '0' } else { "0-$($Cpus - 1)" }
        Uninstall-Kgdboe $lab
        Invoke-LabSsh -Lab $lab -Command 'cat /sys/devices/system/cpu/online' | Should -Be $all
        $log = Install-Kgdboe $lab 'force_single_core=1'
        (ConvertFrom-ReadyLine $log).mode | Should -Be 'single-core'
        Invoke-LabSsh -Lab $lab -Command 'cat /sys/devices/system/cpu/online' | Should -Be '0'
        Test-BannerSession $lab
        Uninstall-Kgdboe $lab
        Invoke-LabSsh -Lab $lab -Command 'cat /sys/devices/system/cpu/online' | Should -Be $all
    }

    It 'loads and unloads 20 times with no WARN, BUG or lockdep report' {
        Uninstall-Kgdboe $lab
        $cycles = Invoke-LabSsh -Lab $lab -Command 'n=0; for i in $(seq 20); do insmod /tmp/kgdboe.ko && rmmod kgdboe && n=$((n+1)); done; echo $n'
        $cycles | Should -Be '20'
        # The whole boot's log: this also covers every debugger session the tests above ran.
        $log = Invoke-LabSsh -Lab $lab -Command 'dmesg'
        # Lockdep reports start with "WARNING:" too; case matters ("loops_per_jiffy").
        $bad = @($log -split "`n" | Where-Object {
                $_ -cmatch '(WARNING|BUG|Oops):|inconsistent lock|possible (recursive|circular) locking|suspicious RCU|bad unlock balance' })
        $bad | Should -BeNullOrEmpty -Because ($bad -join "`n")
        Install-Kgdboe $lab | Out-Null
        Uninstall-Kgdboe $lab
    }
}

Describe 'kgdboe with NIC model <_> (6.12)' -Tag 'Lab', 'Module' -ForEach $nicMatrix {
    BeforeAll {
        $lab = Get-TestLab -Kernel '6.12' -Nic $_ -Cpus 2
        $ko = Get-LabKernelModule -Lab $lab
        Invoke-LabSsh -Lab $lab -Command 'cat > /tmp/kgdboe.ko' -InputFile $ko | Out-Null
        Uninstall-Kgdboe $lab
    }
    AfterAll {
        if ($lab) { Uninstall-Kgdboe $lab }
    }

    It 'serves stock gdb twice: linux_banner, info registers, detach' {
        $ready = ConvertFrom-ReadyLine (Install-Kgdboe $lab)
        $ready.Device | Should -Be 'eth0'
        Test-BannerSession $lab
        Test-BannerSession $lab
    }
}

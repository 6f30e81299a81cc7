# Start-KernelGdbBridge against a real lab kernel (KASLR on, kgdboe in raw mode), with the project's
# lossy proxy between KgdbOe's client and the module (10 % loss, 5 % duplication, 5 % reordering
# each way): stock gdb 13 in batch mode with the lab's vmlinux, through the bridge's TCP port.
#
# Environment:
#   KGDBOE_BRIDGE_KERNELS  comma-separated kernels (default 6.12)
#   KGDBOE_BRIDGE_ROUNDS   rounds of info registers / x/16xb $pc / info threads (default 300)
#   KGDBOE_BRIDGE_LAB_PREFIX  lab name prefix (default 'test-bridge')
BeforeDiscovery {
    $kernels = if ($env:KGDBOE_BRIDGE_KERNELS) { $env:KGDBOE_BRIDGE_KERNELS -split ',' } else { '6.12' }
    $rounds = if ($env:KGDBOE_BRIDGE_ROUNDS) { [int]$env:KGDBOE_BRIDGE_ROUNDS } else { 300 }
    $matrix = foreach ($k in $kernels) { @{ Kernel = $k; Rounds = $rounds } }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestLab.ps1')
    Import-Module (Join-Path $PSScriptRoot '../bench/BenchLab.psm1') -Function Start-LossyProxy, Stop-LossyProxy, Stop-OwnProcess
    $script:PackageDir = Import-KgdbOeTestModule
    $script:Prefix = if ($env:KGDBOE_BRIDGE_LAB_PREFIX) { $env:KGDBOE_BRIDGE_LAB_PREFIX } else { 'test-bridge' }

    function Get-FreeTcpPort {
        $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $probe.Start(); $port = $probe.LocalEndpoint.Port; $probe.Stop()
        $port
    }

    function Invoke-BridgedGdb($Target, [string] $Vmlinux, [string[]] $Commands, [int] $TimeoutSeconds = 600) {
        # Start-KernelGdbBridge in a thread job of this process (it shares the session), stock gdb
        # with the lab's vmlinux against its port. Returns gdb's exit code and output and the job's.
        $port = Get-FreeTcpPort
        $job = Start-ThreadJob -ScriptBlock {
            Import-Module (Join-Path $using:PackageDir 'KgdbOe.psd1')
            Start-KernelGdbBridge -Target $using:Target -Port $using:port -Verbose -InformationAction Continue 4>&1 6>&1 | ForEach-Object { "$_" }
        }
        try {
            # Its first output line says it listens.
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not ((Receive-Job $job -Keep 2>&1) -match 'Serving')) {
                if ([DateTime]::UtcNow -gt $deadline -or $job.State -in 'Failed', 'Completed') {
                    throw "the bridge did not listen on $port within 60 s: $(Receive-Job $job 2>&1)"
                }
                Start-Sleep -Milliseconds 200
            }
            $gdb = Invoke-StockGdb -Commands (@("file $Vmlinux", "target remote 127.0.0.1:$port") + $Commands) -TimeoutSeconds $TimeoutSeconds
            $null = Wait-Job $job -Timeout 60
            [pscustomobject]@{ ExitCode = $gdb.ExitCode; Output = $gdb.Output; Bridge = ((Receive-Job $job 2>&1) -join "`n"); BridgeState = $job.State }
        } finally {
            Remove-Job $job -Force -ErrorAction Ignore
        }
    }
}

Describe 'Start-KernelGdbBridge on <Kernel> through a lossy link' -Tag 'Lab', 'Bridge' -ForEach $matrix {
    BeforeAll {
        $lab = Get-TestLab -Kernel $Kernel -Nic e1000 -Cpus 2 -Name "$script:Prefix-$Kernel"
        Send-LabFile -Lab $lab -Path (Get-LabKernelModule -Lab $lab) -Destination '/tmp/kgdboe.ko'
        Invoke-LabSsh -Lab $lab -Command 'if grep -q "^kgdboe " /proc/modules; then rmmod kgdboe; fi; insmod /tmp/kgdboe.ko' | Out-Null
        $banner = Get-LabRuntimeAddress $lab 'linux_banner'
        $proxy = Start-LossyProxy -TargetPort $lab.DebugPort -LossPercent 10 -DuplicatePercent 5 -ReorderPercent 5 -Seed 13
        $target = Connect-KernelTarget -ComputerName 127.0.0.1 -Port $proxy.Port -SystemMap $lab.SystemMap -ConnectTimeout 120
    }
    AfterAll {
        if ($target) { Disconnect-KernelTarget -Target $target -ErrorAction Continue }
        if ($proxy) { Write-Host "    proxy: $(Stop-LossyProxy $proxy)" }
        if ($lab) { Invoke-LabSsh -Lab $lab -Command 'if grep -q "^kgdboe " /proc/modules; then rmmod kgdboe; fi' | Out-Null }
    }

    It 'runs on a kernel whose image moved (KASLR)' {
        $target.KaslrSlide | Should -Not -Be 0
    }

    It 'lets stock gdb with vmlinux show a real backtrace: bt names kgdb_breakpoint' {
        $gdb = Invoke-BridgedGdb $target $lab.Vmlinux @('bt', ('x/s 0x{0:x}' -f $banner), 'detach')
        $gdb.Output | Should -Match '(?m)^#\d+\s+(0x[0-9a-f]+ in )?kgdb_breakpoint' -Because $gdb.Output
        # Every frame in the kernel image has a symbol. Only the end of a kernel thread's stack (pc 0) has
        # none, and a frame in a module (x86-64 puts modules above the 1 GiB kernel image mapping, at
        # 0xffffffffc0000000 and up): the break-in comes from kgdboe's own work function, and gdb with the
        # vmlinux alone knows no module (the kernel's lx-symbols script would load them).
        $unnamed = @([regex]::Matches($gdb.Output, '(?m)^#\d+\s+0x([0-9a-f]{16}) in \?\?') | ForEach-Object { [Convert]::ToUInt64($_.Groups[1].Value, 16) } |
                Where-Object { $_ -ne 0 -and $_ -lt [Convert]::ToUInt64('ffffffffc0000000', 16) })
        $unnamed | Should -BeNullOrEmpty -Because $gdb.Output
        $gdb.Output | Should -Match 'Linux version' -Because $gdb.Output
        $gdb.Bridge | Should -Match 'ended \(detached\)' -Because $gdb.Bridge
        Invoke-LabSshCommand -Lab $lab -Command 'echo alive' -AllowFailure | Should -Be 'alive' -Because 'detach leaves the kernel running'
    }

    It 'serves <Rounds> rounds of info registers, x/16xb $pc and info threads with no error, then detach leaves the kernel running' {
        $null = Suspend-KernelTarget -Target $target
        $before = $target.Statistics.ToString()
        $commands = @(foreach ($i in 1..$Rounds) { 'info registers', 'x/16xb $pc', 'info threads' }) + 'detach'
        $gdb = Invoke-BridgedGdb $target $lab.Vmlinux $commands -TimeoutSeconds 1800
        Write-Host "    client statistics before: $before"
        Write-Host "    client statistics after:  $($target.Statistics)"
        $gdb.ExitCode | Should -Be 0 -Because $gdb.Output
        $errors = @($gdb.Output -split "`n" | Where-Object { $_ -match 'error|Error|Cannot access|timed out|Remote (connection|replied|failure)|Ignoring packet|unexpectedly' })
        $errors | Should -BeNullOrEmpty -Because (($errors | Select-Object -First 5) -join "`n")
        ([regex]::Matches($gdb.Output, '(?m)^rip\s+0x[0-9a-f]{16}')).Count | Should -Be $Rounds
        ([regex]::Matches($gdb.Output, '(?m)^0x[0-9a-f]{16} <[^>]+>:(\s+0x[0-9a-f]{2}){8}$')).Count | Should -Be (2 * $Rounds)
        ([regex]::Matches($gdb.Output, '(?m)^\s+Id\s+Target Id')).Count | Should -Be $Rounds
        $gdb.Bridge | Should -Match 'ended \(detached\)'
        Invoke-LabSshCommand -Lab $lab -Command 'echo alive' -AllowFailure | Should -Be 'alive'
    }
}

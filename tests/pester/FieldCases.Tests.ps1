# Cases from the field (issue 14), each against a real lab kernel:
#  - hardware breakpoints on the lab kernel (patched: they fire) and on the kernel as users have it
#    (6.12-/6.1-unpatched: Set-KernelBreakpoint says they cannot, and the kernel indeed swallows the hit);
#  - no ICMP port-unreachable from the guest for the debugger's datagrams;
#  - a CPU spinning with interrupts off when the break-in comes;
#  - stock gdb's `next` x30 and `finish` in ksys_write with a writer on each of 4 CPUs;
#  - 1-CPU and 4-CPU guests, and safety mode saying when it cannot take CPUs offline.
#
# KGDBOE_FIELD_LAB_PREFIX names the labs (e.g. "fi-") and stops each one after its block, for a
# shared machine; unset, the shared test-* labs are used and kept. KGDBOE_FIELD_HW_KERNELS narrows
# the hardware-breakpoint kernels (default "6.12,6.12-unpatched"; an unpatched kernel is built
# once, 6.12 ~10 min, 6.1 ~25 min, into a cache folder of its own; build.ps1 Matrix runs all four).
BeforeDiscovery {
    $hwKernels = foreach ($k in $(if ($env:KGDBOE_FIELD_HW_KERNELS) { $env:KGDBOE_FIELD_HW_KERNELS -split ',' } else { '6.12', '6.12-unpatched' })) {
        @{ Kernel = $k; Patched = $k -notmatch 'unpatched' }
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestLab.ps1')
    $script:ModuleDir = Import-KgdbOeTestModule
    $script:ToolDir = Join-Path $PSScriptRoot '../module'

    function Get-FieldLab([string] $Kernel = '6.12', [int] $Cpus = 2, [switch] $NoKaslr) {
        $labArgs = @{ Kernel = $Kernel; Nic = 'e1000'; Cpus = $Cpus; NoKaslr = $NoKaslr }
        if ($env:KGDBOE_FIELD_LAB_PREFIX) { $labArgs.Name = "$($env:KGDBOE_FIELD_LAB_PREFIX)$Kernel-$Cpus$(if ($NoKaslr) { '-nokaslr' })" }
        $lab = Get-TestLab @labArgs
        Invoke-LabSsh -Lab $lab -Command 'killall workload 2>/dev/null; if grep -q "^kgdboe " /proc/modules; then rmmod kgdboe; fi; true' | Out-Null
        Invoke-LabSsh -Lab $lab -Command 'cat > /tmp/kgdboe.ko' -InputFile (Get-LabKernelModule -Lab $lab) | Out-Null
        $lab
    }

    function Close-FieldLab($Lab) {
        if (-not $Lab) { return }
        if ($env:KGDBOE_FIELD_LAB_PREFIX) { Stop-KgdbOeLab -Name $Lab.Name; return }
        Invoke-LabSshCommand -Lab $Lab -AllowFailure -Command 'killall workload 2>/dev/null; if grep -q "^kgdboe " /proc/modules; then rmmod kgdboe; fi; true' | Out-Null
    }

    function Send-HelperModule($Lab, [string] $Name) {
        # Builds tests/module/<Name> against the lab kernel and puts it at /tmp/<Name>.ko.
        $build = Join-Path ([IO.Path]::GetTempPath()) "kgdboe-$Name-$($Lab.Kernel)-$PID"
        if (-not (Test-Path (Join-Path $build "$Name.ko"))) {
            New-Item -ItemType Directory -Force $build | Out-Null
            Copy-Item (Join-Path $ToolDir "$Name/*") $build
            $log = & make -s -C $build "KDIR=$($Lab.Kdir)" 2>&1
            if ($LASTEXITCODE -ne 0) { throw "$Name.ko failed to build for $($Lab.Kernel): $log" }
        }
        Invoke-LabSsh -Lab $Lab -Command "cat > /tmp/$Name.ko" -InputFile (Join-Path $build "$Name.ko") | Out-Null
    }

    function Connect-FieldSession($Lab, [string] $Name, [switch] $ForceSingleCore) {
        $installation = Install-KgdboeModule -ComputerName 127.0.0.1 -SshPort $Lab.SshPort -KeyFilePath $Lab.KeyPath `
            -KnownHostsPath $Lab.KnownHostsPath -ModulePath (Get-LabKernelModule -Lab $Lab) -DebugPort $Lab.DebugPort `
            -SystemMap $Lab.SystemMap -ForceSingleCore:$ForceSingleCore -Confirm:$false -ErrorAction Stop
        $installation | Connect-KernelTarget -Name $Name -ErrorAction Stop
    }

    function Close-FieldSession($Session) {
        if (-not $Session -or $Session.IsClosed) { return }
        if ($Session.State -ne 'Stopped') { Suspend-KernelTarget -Target $Session -ErrorAction Continue | Out-Null }
        Remove-KernelBreakpoint -All -Target $Session -Confirm:$false -ErrorAction Continue
        Disconnect-KernelTarget -Target $Session -Confirm:$false -ErrorAction Continue
    }

    function Wait-GuestLog($Lab, [string] $Pattern, [int] $Seconds = 90) {
        # Waits until dmesg matches; returns the matching lines.
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while ($true) {
            # SSH may not answer yet (a CPU spinning with interrupts off): try again.
            $lines = @((Invoke-LabSshCommand -Lab $Lab -Command 'dmesg' -AllowFailure 2>$null) -split "`n" | Where-Object { $_ -match $Pattern })
            if ($lines.Count) { return $lines }
            if ([DateTime]::UtcNow -gt $deadline) { throw "the guest's kernel log did not show '$Pattern' within $Seconds s" }
            Start-Sleep -Seconds 1
        }
    }

    function Get-CpuTimes($Lab) {
        # "cpuN" lines of /proc/stat: CPU name -> sum of its fields.
        $times = @{}
        foreach ($line in (Invoke-LabSsh -Lab $Lab -Command 'grep "^cpu[0-9]" /proc/stat') -split "`n") {
            $f = $line.Trim() -split '\s+'
            $times[$f[0]] = ($f[1..($f.Count - 1)] | ForEach-Object { [uint64]$_ } | Measure-Object -Sum).Sum
        }
        $times
    }

    function Assert-EveryCpuProgresses($Lab, [int] $Cpus) {
        $before = Get-CpuTimes $Lab
        Start-Sleep -Seconds 3
        $after = Get-CpuTimes $Lab
        $after.Count | Should -Be $Cpus
        foreach ($cpu in $after.Keys) { $after[$cpu] - $before[$cpu] | Should -BeGreaterThan 0 -Because "$cpu's /proc/stat times moved over 3 s" }
    }
}

Describe 'Hardware breakpoints on <Kernel>' -Tag 'Lab', 'Field', 'HardwareBreakpoints' -ForEach $hwKernels {
    BeforeAll {
        $script:Lab = Get-FieldLab -Kernel $Kernel
        $script:Getppid = Get-LabRuntimeAddress $Lab '__x64_sys_getppid'
        # getppid() every 2 ms for good: the execute and software breakpoints stop it when wanted.
        Invoke-LabSsh -Lab $Lab -Command 'workload 0 2000 >/dev/null 2>&1 </dev/null &' | Out-Null
        $script:Session = Connect-FieldSession $Lab "field-hw-$Kernel"
        $script:PanicTimeout = (Read-KernelMemory -Target $Session panic_timeout 4).ReadUInt32(0)
    }

    AfterAll {
        if ($Session -and -not $Session.IsClosed -and $Session.State -eq 'Stopped') {
            Write-KernelMemory -Target $Session panic_timeout -Value $PanicTimeout -Size 4 -Confirm:$false -ErrorAction Continue
        }
        Close-FieldSession $Session
        Close-FieldLab $Lab
    }

    It 'knows nothing before the first hardware breakpoint' {
        $Session.HardwareBreakpoints | Should -Be 'Unknown'
    }

    It 'patched kernel: checks, finds hits reported, and a write watchpoint stops the kernel at the guest''s write' -Skip:(-not $Patched) {
        $watch = Set-KernelBreakpoint -Target $Session panic_timeout -Kind WriteWatch -Length 4 -Confirm:$false -ErrorAction Stop
        try {
            $Session.HardwareBreakpoints | Should -Be 'Reported'
            Resume-KernelTarget -Target $Session -Confirm:$false
            Invoke-LabSsh -Lab $Lab -Command '(sleep 1; echo 77 > /proc/sys/kernel/panic) >/dev/null 2>&1 </dev/null &' | Out-Null
            $stop = Wait-KernelTarget -Target $Session -Timeout 60
            $stop.Reason | Should -Be 'Watchpoint'
            $stop.Breakpoint.Id | Should -Be $watch.Id
            (Read-KernelMemory -Target $Session panic_timeout 4).ReadUInt32(0) | Should -Be 77
        } finally {
            if ($Session.State -ne 'Stopped') { Suspend-KernelTarget -Target $Session | Out-Null }
            $watch | Remove-KernelBreakpoint -Confirm:$false
            Write-KernelMemory -Target $Session panic_timeout -Value $PanicTimeout -Size 4 -Confirm:$false
        }
    }

    It 'patched kernel: a hardware execute breakpoint stops at __x64_sys_getppid' -Skip:(-not $Patched) {
        $hardware = Set-KernelBreakpoint -Target $Session __x64_sys_getppid -Kind Hardware -Confirm:$false -ErrorAction Stop
        try {
            $stop = Resume-KernelTarget -Target $Session -Wait -Timeout 60 -Confirm:$false
            $stop.ProgramCounter | Should -Be $Getppid
            $stop.Breakpoint.Kind | Should -Be 'Hardware'
        } finally {
            if ($Session.State -ne 'Stopped') { Suspend-KernelTarget -Target $Session | Out-Null }
            $hardware | Remove-KernelBreakpoint -Confirm:$false
        }
    }

    It 'unpatched kernel: refuses a write watchpoint with KgdbOe.HardwareBreakpointUnsupported and sets nothing' -Skip:$Patched {
        $err = Get-CommandError { Set-KernelBreakpoint -Target $Session panic_timeout -Kind WriteWatch -Length 4 -Confirm:$false }
        Get-ErrorIdOf $err | Should -Be 'KgdbOe.HardwareBreakpointUnsupported'
        $err.CategoryInfo.Category | Should -Be 'NotImplemented'
        "$($err.TargetObject)" | Should -Match '^panic_timeout'
        $err.Exception.Message | Should -Match 'never reports a hit'
        $Session.HardwareBreakpoints | Should -Be 'NotReported'
        Get-KernelBreakpoint -Target $Session | Should -BeNullOrEmpty
        $Session.State | Should -Be 'Stopped'
        (Read-KernelMemory -Target $Session linux_banner 13).ReadString() | Should -Be 'Linux version'
    }

    It 'unpatched kernel: refuses a hardware execute breakpoint from the first check, without running the kernel again' -Skip:$Patched {
        $before = $Session.Client.LastStop
        $err = Get-CommandError { Set-KernelBreakpoint -Target $Session __x64_sys_getppid -Kind Hardware -Confirm:$false }
        Get-ErrorIdOf $err | Should -Be 'KgdbOe.HardwareBreakpointUnsupported'
        [object]::ReferenceEquals($Session.Client.LastStop, $before) | Should -BeTrue -Because 'the answer is kept per session'
        Get-KernelBreakpoint -Target $Session | Should -BeNullOrEmpty
    }

    It 'unpatched kernel: is right, the kernel takes a watchpoint past the check and never reports its hit' -Skip:$Patched {
        # The reference: the protocol client sets the watchpoint itself (no check), the guest writes the
        # variable, and the kernel runs on: the value changed, no stop came.
        $client = $Session.Client
        $address = (Get-KernelSymbol -Target $Session panic_timeout).Address
        # KgdbOe.Core lives in a load context of its own: its types are reached through the client.
        $kind = [Enum]::Parse($client.GetType().Assembly.GetType('KgdbOe.Client.BreakpointKind'), 'WriteWatch')
        $raw = $client.SetBreakpointAsync($kind, $address, 4, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
        try {
            Resume-KernelTarget -Target $Session -Confirm:$false
            Invoke-LabSsh -Lab $Lab -Command 'echo 78 > /proc/sys/kernel/panic; cat /proc/sys/kernel/panic' | Should -Be '78'
            $err = Get-CommandError { Wait-KernelTarget -Target $Session -Timeout 5 }
            Get-ErrorIdOf $err | Should -Be 'KgdbOe.Timeout' -Because 'the write was swallowed: no stop'
        } finally {
            if ($Session.State -ne 'Stopped') { Suspend-KernelTarget -Target $Session | Out-Null }
            $client.RemoveBreakpointAsync($raw, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
            Write-KernelMemory -Target $Session panic_timeout -Value $PanicTimeout -Size 4 -Confirm:$false
        }
    }

    It 'keeps software breakpoints working' {
        $software = Set-KernelBreakpoint -Target $Session __x64_sys_getppid -Confirm:$false -ErrorAction Stop
        try {
            $stop = Resume-KernelTarget -Target $Session -Wait -Timeout 60 -Confirm:$false
            $stop.Breakpoint.Kind | Should -Be 'Software'
            $stop.ProgramCounter | Should -Be $Getppid
        } finally {
            $software | Remove-KernelBreakpoint -Confirm:$false
        }
    }

    It 'leaves a guest that runs on after the session' {
        Close-FieldSession $Session
        Invoke-LabSshCommand -Lab $Lab -Command 'echo alive' -AllowFailure | Should -Be 'alive'
        Assert-EveryCpuProgresses $Lab 2
    }
}

Describe 'No ICMP port-unreachable for the debugger''s datagrams' -Tag 'Lab', 'Field', 'Icmp' {
    BeforeAll {
        $script:Lab = Get-FieldLab -Kernel '6.12'

        function Get-UnreachableCounts {
            # Icmp OutDestUnreachs and Udp NoPorts from the guest's /proc/net/snmp (header line, then values).
            $snmp = (Invoke-LabSsh -Lab $Lab -Command 'cat /proc/net/snmp') -split "`n"
            $counts = @{}
            foreach ($pair in @(@('Icmp', 'OutDestUnreachs'), @('Udp', 'NoPorts'))) {
                $rows = @($snmp | Where-Object { $_ -like "$($pair[0]): *" })
                $names = $rows[0].Trim() -split '\s+'
                $values = $rows[1].Trim() -split '\s+'
                $counts["$($pair[0]).$($pair[1])"] = [long]$values[[array]::IndexOf($names, $pair[1])]
            }
            $counts
        }

        function Send-Datagrams([int] $Count, [string] $Text) {
            $udp = [System.Net.Sockets.UdpClient]::new()
            try {
                $bytes = [Text.Encoding]::ASCII.GetBytes($Text)
                for ($i = 0; $i -lt $Count; $i++) { [void]$udp.Send($bytes, $bytes.Length, '127.0.0.1', $Lab.DebugPort) }
            } finally { $udp.Dispose() }
        }
    }

    AfterAll {
        Close-FieldSession $Session
        Close-FieldLab $Lab
    }

    It 'counts an unanswered datagram when nothing listens (the counters work)' {
        $before = Get-UnreachableCounts
        Send-Datagrams 3 'nobody here'
        Start-Sleep -Seconds 2
        $after = Get-UnreachableCounts
        $after['Udp.NoPorts'] - $before['Udp.NoPorts'] | Should -BeGreaterOrEqual 1
        $after['Icmp.OutDestUnreachs'] - $before['Icmp.OutDestUnreachs'] | Should -BeGreaterOrEqual 1
    }

    It 'sends none while a session is attached: attach, reads, running, junk from another port, break-ins, detach' {
        $before = Get-UnreachableCounts
        $script:Session = Connect-FieldSession $Lab 'field-icmp'
        (Read-KernelMemory -Target $Session linux_banner 13).ReadString() | Should -Be 'Linux version'
        Read-KernelMemory -Target $Session linux_banner 4096 | Out-Null
        foreach ($round in 1..3) {
            Resume-KernelTarget -Target $Session -Confirm:$false
            Send-Datagrams 100 "junk from another port $round"
            Start-Sleep -Seconds 1
            Suspend-KernelTarget -Target $Session | Out-Null
            Get-KernelThread -Target $Session | Out-Null
        }
        Resume-KernelTarget -Target $Session -Confirm:$false
        # Counted while the session is still attached and the kernel runs (SSH needs it running).
        $attached = Get-UnreachableCounts
        Suspend-KernelTarget -Target $Session | Out-Null
        Disconnect-KernelTarget -Target $Session -Confirm:$false
        $after = Get-UnreachableCounts
        Write-Host ("ICMP: OutDestUnreachs {0} -> {1} (attached) -> {2}; Udp NoPorts {3} -> {4} -> {5}" -f
            $before['Icmp.OutDestUnreachs'], $attached['Icmp.OutDestUnreachs'], $after['Icmp.OutDestUnreachs'],
            $before['Udp.NoPorts'], $attached['Udp.NoPorts'], $after['Udp.NoPorts'])
        $attached['Icmp.OutDestUnreachs'] | Should -Be $before['Icmp.OutDestUnreachs']
        $attached['Udp.NoPorts'] | Should -Be $before['Udp.NoPorts']
        $after['Icmp.OutDestUnreachs'] | Should -Be $before['Icmp.OutDestUnreachs']
        $after['Udp.NoPorts'] | Should -Be $before['Udp.NoPorts']
    }
}

Describe 'A CPU spinning with interrupts off when the break-in comes' -Tag 'Lab', 'Field', 'IrqSpin' {
    BeforeAll {
        $script:Lab = Get-FieldLab -Kernel '6.12'
        Send-HelperModule $Lab 'irqspin'
        Invoke-LabSsh -Lab $Lab -Command 'if grep -q "^irqspin " /proc/modules; then rmmod irqspin; fi; dmesg -c >/dev/null; insmod /tmp/kgdboe.ko' | Out-Null
        # The NIC's interrupt goes to CPU 0. A datagram whose interrupt is routed to the spinning CPU
        # waits in the NIC until that CPU turns interrupts back on: the break-in then comes 30 s late
        # (seen; no driver-independent way to receive while running without the NIC's interrupt).
        $irq = (Invoke-LabSsh -Lab $Lab -Command 'grep -m1 eth0 /proc/interrupts').Trim() -replace ':.*$', ''
        Invoke-LabSsh -Lab $Lab -Command "echo 1 > /proc/irq/$irq/smp_affinity" | Out-Null
        $script:Gdb = @("target remote udp:127.0.0.1:$($Lab.DebugPort)")
    }

    AfterAll {
        Invoke-LabSshCommand -Lab $Lab -AllowFailure -Command 'if grep -q "^irqspin " /proc/modules; then rmmod irqspin; fi' | Out-Null
        Close-FieldLab $Lab
    }

    It 'breaks in while CPU 1 spins; info threads and kdb''s btc answer; the stop names the CPU it could not park' {
        # SSH is of no use while CPU 1 spins (a task queued there, or an IPI to it, waits 30 s): the
        # spinner starts as insmod returns, and everything about it is read from the log afterwards.
        # The spin starts 5 s after insmod, when the SSH session that loaded it has ended (tearing it
        # down would otherwise wait for CPU 1 with preemption off on CPU 0, and the break-in's work
        # item with it, for the whole 30 s).
        Invoke-LabSsh -Lab $Lab -Command 'insmod /tmp/irqspin.ko cpu=1 seconds=30 delay_ms=5000' | Out-Null
        Start-Sleep -Seconds 9
        $script:BreakIn = Invoke-StockGdb -Commands ($Gdb + @('info threads', 'monitor btc', 'detach')) -TimeoutSeconds 180
        $BreakIn.ExitCode | Should -Be 0 -Because $BreakIn.Output
        $BreakIn.Output | Should -Match 'shadowCPU0' -Because 'info threads lists CPU 0'
        $BreakIn.Output | Should -Match 'shadowCPU1|irqspin' -Because 'info threads lists CPU 1 (or the spinner it runs)'
        $BreakIn.Output | Should -Match 'spin_fn' -Because "kdb's btc shows the spinner's stack on CPU 1"
        # gdb's own 2 s reply timeout may expire while the first stop waits for the CPUs on a loaded
        # host ("Ignoring packet error", then it asks again): counted, not judged. A broken reply is.
        Write-Host ("irqspin break-in: {0} gdb timeouts while the first stop came" -f ([regex]::Matches($BreakIn.Output, 'Ignoring packet error')).Count)
        $BreakIn.Output | Should -Not -Match 'Remote connection closed|Malformed|Remote failure reply'
        Wait-GuestLog $Lab 'irqspin: done after' -Seconds 180 | Out-Null
        $log = Invoke-LabSsh -Lab $Lab -Command 'dmesg'
        $log | Should -Match 'irqspin: spinning on CPU 1'
        $log | Should -Match 'did not take the park IPI \(interrupts off\?\): CPU 1\b' -Because 'the stop says which CPU it could not park'
        # kgdb's own NMI roundup reaches a CPU with interrupts off: no CPU was missing from the stop.
        $console = Get-Content -Raw -LiteralPath $Lab.ConsoleLog
        $console | Should -Not -Match 'Timed out waiting for secondary CPUs'
        # CPU 1 printed its own stack for btc through kgdboe: no lockdep report, no warning, no oops.
        $console | Should -Not -MatchExactly '(?m)^(WARNING|BUG): |Oops: ' -Because 'btc went through without a kernel complaint'
    }

    It 'breaks in again after the spinner has finished, and the guest runs on' {
        $again = Invoke-StockGdb -Commands ($Gdb + @('info threads', 'detach')) -TimeoutSeconds 180
        $again.ExitCode | Should -Be 0 -Because $again.Output
        $again.Output | Should -Match 'shadowCPU1|irqspin'
        Invoke-LabSshCommand -Lab $Lab -Command 'echo alive' -AllowFailure | Should -Be 'alive'
        Assert-EveryCpuProgresses $Lab 2
    }
}

# Issue 14's field case. Three causes found and fixed (2026-12-01), each first seen in this test:
# - gdb read a parked CPU's task at kgdboe's park IPI handler (kgdb shows the roundup NMI's
#   registers) and planted breakpoints there; the guest went wild within a few `next` (pc 0).
#   kgdboe_park.c shows kgdb the registers the IPI interrupted.
# - `finish` out of ksys_write returns into noinstr code (do_syscall_64), where KGDB refuses an
#   int3 (E22); module-c/kgdboe.gdb makes gdb use a debug register there.
# - CPUs that hit a breakpoint while another CPU held the debugger waited in kgdb_cpu_enter():
#   after gdb detached they stopped the kernel with no debugger (kgdboe_stale_stop.c lets such a
#   stop go on), and after kgdb's 100 sstep_tries one took the debugger during gdb's step over
#   the breakpoint, so gdb 13 failed its assertion (finish_step_over: trap_expected) and died
#   (1 of 7 runs). Such CPUs now park in their trap until the stop is over, one trap at a time
#   (kgdboe_park_trap()): since, 26 of 26 runs (6.12: 10, and 10 beside 3 busy host loops; 6.1: 6).
Describe 'gdb next x30 and finish in ksys_write with a writer on each of 4 CPUs' -Tag 'Lab', 'Field', 'Next' {
    BeforeAll {
        $script:Lab = Get-FieldLab -Kernel '6.12' -Cpus 4 -NoKaslr
        Invoke-LabSsh -Lab $Lab -Command ('insmod /tmp/kgdboe.ko; rm -f /tmp/writers.pids; ' +
            'for c in 0 1 2 3; do taskset -c $c sh -c "while :; do echo x > /dev/null; done" >/dev/null 2>&1 </dev/null & echo $! >> /tmp/writers.pids; done') | Out-Null
        $log = Join-Path ([IO.Path]::GetTempPath()) "kgdboe-next-$PID.log"
        $env:NEXT_LOG = $log
        $script:Run = Invoke-StockGdb -TimeoutSeconds 900 -Commands @(
            'set pagination off', 'set confirm off', "file $($Lab.Vmlinux)",
            "target remote udp:127.0.0.1:$($Lab.DebugPort)", "source $(Join-Path $PSScriptRoot '../../module-c/kgdboe.gdb')",
            "source $(Join-Path $ToolDir 'gdb-next.py')")
        $script:Lines = @(if (Test-Path $log) { Get-Content $log })
        Remove-Item $log -ErrorAction Ignore
        $script:Steps = foreach ($l in $Lines) {
            $f = $l -split ' '
            if ($f.Count -ge 7) { [pscustomobject]@{ Command = $f[0]; Seconds = [double]$f[2]; Pc = $f[3]; Before = $f[4]; After = $f[5]; Where = $f[6] } }
        }
        $nexts = @($Steps | Where-Object Command -EQ 'next')
        Write-Host ("next x{0}: slowest {1:n3} s, {2} entries into ksys_write; finish: {3}" -f $nexts.Count,
            ($nexts | Measure-Object Seconds -Maximum).Maximum, @($Steps | Where-Object Command -EQ 'continue').Count,
            (($Steps | Where-Object Command -EQ 'finish') | ForEach-Object { "$($_.Seconds) s at $($_.Where)" }))
    }

    AfterAll {
        Invoke-LabSshCommand -Lab $Lab -AllowFailure -Command 'kill $(cat /tmp/writers.pids) 2>/dev/null; rm -f /tmp/writers.pids' | Out-Null
        Close-FieldLab $Lab
    }

    It 'ran 30 next and the finish to the end, and detached' {
        $Run.ExitCode | Should -Be 0 -Because $Run.Output
        $Lines | Should -Contain 'done 30' -Because (($Lines -join "`n") + "`ngdb: " + $Run.Output)
        $Lines | Should -Contain 'detached'
        @($Steps | Where-Object Command -EQ 'next').Count | Should -Be 30
        @($Steps | Where-Object Command -EQ 'finish').Count | Should -Be 1
    }

    It 'returned each next and the finish in the thread it stepped, inside the kernel' {
        foreach ($s in $Steps | Where-Object { $_.Command -in 'next', 'finish' }) {
            $s.After | Should -Be $s.Before -Because "$($s.Command) at $($s.Where) came back in thread $($s.After), not $($s.Before)"
            $s.Pc | Should -Match '^0xffffffff' -Because 'the step ended in the kernel'
        }
        ($Steps | Where-Object Command -EQ 'finish').Where | Should -Match '^(__x64_sys_write|__do_sys_write|x64_sys_call|do_syscall_64)\+' -Because 'finish returns to ksys_write''s caller'
    }

    It 'saw no packet error' {
        $Run.Output | Should -Not -Match 'Ignoring packet error|Malformed response|Remote failure reply|Remote replied unexpectedly|Remote connection closed|Timed out'
    }

    It 'gave gdb no stop from another CPU during a single step (kgdboe logs each one)' {
        Get-Content -Raw -LiteralPath $Lab.ConsoleLog | Should -Not -Match 'stopped while CPU \d+ single-stepped'
    }

    It 'leaves a guest where all 4 CPUs make progress' {
        Invoke-LabSshCommand -Lab $Lab -Command 'echo alive' -AllowFailure | Should -Be 'alive'
        Assert-EveryCpuProgresses $Lab 4
        Get-Content -Raw -LiteralPath $Lab.ConsoleLog | Should -Not -Match 'Timed out waiting for secondary CPUs'
    }
}

Describe 'A <_>-CPU guest: attach, break, threads, continue; safety mode' -Tag 'Lab', 'Field', 'Cpus' -ForEach 1, 4 {
    BeforeAll {
        $script:Cpus = $_
        $script:Lab = Get-FieldLab -Kernel '6.12' -Cpus $Cpus
        $script:Getppid = Get-LabRuntimeAddress $Lab '__x64_sys_getppid'
        Invoke-LabSsh -Lab $Lab -Command 'workload 0 2000 >/dev/null 2>&1 </dev/null &' | Out-Null
        Send-HelperModule $Lab 'irqspin'
    }

    AfterAll {
        Close-FieldSession $Session
        Invoke-LabSshCommand -Lab $Lab -AllowFailure -Command 'if grep -q "^irqspin " /proc/modules; then rmmod irqspin; fi' | Out-Null
        Close-FieldLab $Lab
    }

    It 'attaches (the kernel stops), lists one CPU thread per CPU, reads memory' {
        $script:Session = Connect-FieldSession $Lab "field-cpus-$Cpus"
        $Session.State | Should -Be 'Stopped'
        @(Get-KernelThread -Target $Session | Where-Object IsCpu).Count | Should -Be $Cpus
        (Read-KernelMemory -Target $Session linux_banner 13).ReadString() | Should -Be 'Linux version'
    }

    It 'stops at a breakpoint and continues' {
        $bp = Set-KernelBreakpoint -Target $Session __x64_sys_getppid -Confirm:$false -ErrorAction Stop
        foreach ($hit in 1..3) {
            $stop = Resume-KernelTarget -Target $Session -Wait -Timeout 60 -Confirm:$false
            $stop.ProgramCounter | Should -Be $Getppid
        }
        $bp | Remove-KernelBreakpoint -Confirm:$false
        Disconnect-KernelTarget -Target $Session -Confirm:$false
        Invoke-LabSshCommand -Lab $Lab -Command 'echo alive' -AllowFailure | Should -Be 'alive'
        Assert-EveryCpuProgresses $Lab $Cpus
        Invoke-LabSsh -Lab $Lab -Command 'killall workload; rmmod kgdboe' | Out-Null
    }

    It 'safety mode on one CPU says there is no CPU to take offline, and loads' -Skip:($_ -ne 1) {
        Invoke-LabSsh -Lab $Lab -Command 'dmesg -c >/dev/null; insmod /tmp/kgdboe.ko force_single_core=1' | Out-Null
        $log = Invoke-LabSsh -Lab $Lab -Command 'dmesg; rmmod kgdboe'
        $log | Should -Match 'force_single_core: CPU 0 is the only CPU online; there is no CPU to take offline'
        $log | Should -Match 'kgdboe: ready .*mode=single-core'
    }

    It 'safety mode says the kernel refused to take a CPU offline, leaves every CPU online and does not load' -Skip:($_ -eq 1) {
        Invoke-LabSsh -Lab $Lab -Command 'insmod /tmp/irqspin.ko seconds=0 block_hotplug=1' | Out-Null
        try {
            $err = Get-CommandError { Connect-FieldSession $Lab 'field-refused' -ForceSingleCore }
            Get-ErrorIdOf $err | Should -Be 'KgdbOe.KgdboeLoadRefused'
            $err.Exception.Message | Should -Match 'refused to take CPU 1 offline \(-16: CPU hotplug is disabled'
            (Invoke-LabSsh -Lab $Lab -Command 'cat /sys/devices/system/cpu/online').Trim() | Should -Be "0-$($Cpus - 1)"
            Invoke-LabSsh -Lab $Lab -Command 'grep -c "^kgdboe " /proc/modules || true' | Should -Be '0'
        } finally {
            Invoke-LabSsh -Lab $Lab -Command 'rmmod irqspin' | Out-Null
        }
        # Without the blocker the same load takes CPUs 1..n offline and gives them back on unload.
        Invoke-LabSsh -Lab $Lab -Command 'insmod /tmp/kgdboe.ko force_single_core=1; cat /sys/devices/system/cpu/online' | Should -Be '0'
        Invoke-LabSsh -Lab $Lab -Command 'rmmod kgdboe; cat /sys/devices/system/cpu/online' | Should -Be "0-$($Cpus - 1)"
    }
}

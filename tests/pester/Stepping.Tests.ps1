# Stepping through lock code with stock gdb must not wedge the kernel (issue 14): from a
# breakpoint on do_nanosleep, while the guest loops `sleep 0.01`, 2,000 x stepi through kgdboe.
# A kthread per CPU allocates and frees in a loop meanwhile (tests/module/allocstorm), so that a
# CPU frozen by kgdb is often inside or queued on an allocator lock: the state that wedged the
# kernel. Without it the other CPU idles (the shell waits for the stepped sleep) and the old
# module passed 3 runs of 3; with it the old module hung at step 4.
# Every step must answer (a hang is 30 s without an answer), no stop may wait for a CPU that does
# not come (kgdb's 1 s roundup timeout, seen on the console), and afterwards every CPU must make
# progress (/proc/stat) and the guest must answer SSH. tests/module/gdb-stepi.ps1 does the run; on a hang it records
# every vCPU's state through QEMU's gdbstub (the lab is started with it), in the message.
#
# CI form: one run per kernel on e1000. The long form (issue 14's proof):
#   KGDBOE_STEPPING_RUNS=10 KGDBOE_STEPPING_NICS=e1000,virtio-net
#   Invoke-Pester tests/pester/Stepping.Tests.ps1 -TagFilter Stepping
# KGDBOE_STEPPING_LOAD=1 adds a fork/exec loop pinned to every CPU; KGDBOE_STEPPING_STORM=0
# leaves allocstorm out (issue 14's bare conditions).
BeforeDiscovery {
    $kernels = if ($env:KGDBOE_TEST_KERNELS) { $env:KGDBOE_TEST_KERNELS -split ',' } else { '6.12', '6.1' }
    $nics = if ($env:KGDBOE_STEPPING_NICS) { $env:KGDBOE_STEPPING_NICS -split ',' } else { @('e1000') }
    $runs = if ($env:KGDBOE_STEPPING_RUNS) { [int]$env:KGDBOE_STEPPING_RUNS } else { 1 }
    $matrix = foreach ($k in $kernels) {
        foreach ($n in $nics) { @{ Kernel = $k; Nic = $n; Runs = $runs } }
    }
}

Describe 'Stepping <Kernel>/<Nic>: <Runs> x 2,000 stepi from do_nanosleep' -Tag 'Lab', 'Stepping' -ForEach $matrix {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestLab.ps1')
        $script:Steps = 2000
        # KGDBOE_STEPPING_LAB_PREFIX gives the lab a name of one's own (a shared machine).
        $labArgs = @{ Kernel = $Kernel; Nic = $Nic; Cpus = 2; GdbStub = $true }
        if ($env:KGDBOE_STEPPING_LAB_PREFIX) { $labArgs.Name = "$($env:KGDBOE_STEPPING_LAB_PREFIX)$Kernel-$Nic" }
        $lab = Get-TestLab @labArgs
        $ko = Get-LabKernelModule -Lab $lab
        # A kgdboe left loaded by another suite may be an older build: start from ours.
        Invoke-LabSsh -Lab $lab -Command 'if grep -q "^kgdboe " /proc/modules; then rmmod kgdboe; fi' | Out-Null
        $out = Join-Path ([IO.Path]::GetTempPath()) "kgdboe-stepping-$Kernel-$Nic-$PID"
        $script:Results = @(& (Join-Path $PSScriptRoot '../module/gdb-stepi.ps1') -LabName $lab.Name `
                -Kernel $Kernel -Nic $Nic -Steps $Steps -Runs $Runs -KernelModule $ko -OutDir $out `
                -Load:($env:KGDBOE_STEPPING_LOAD -eq '1') -Storm:($env:KGDBOE_STEPPING_STORM -ne '0') `
                -KeepLab 6>$null)
        $script:Lab = $lab
        foreach ($r in $Results) {
            Write-Host ("stepping {0}/{1} run {2}: {3}/{4} steps, hung={5}, slowest {6:n3} s, {7} s{8}" -f
                $Kernel, $Nic, $r.Run, $r.Answered, $Steps, $r.Hung, $r.MaxStepSeconds, $r.Seconds,
                $(if ($r.ReleasedByDetach) { ', stopped again after the detach (released by one attach/detach)' }))
        }
    }

    AfterAll {
        if (-not $Lab) { return }
        if ($Results | Where-Object { $_.Hung -or -not $_.GuestAlive }) {
            # A wedged guest is of no use to the next suite.
            Stop-KgdbOeLab -Name $Lab.Name
        } else {
            Invoke-LabSshCommand -Lab $Lab -AllowFailure -Command (
                'kill $(cat /tmp/stepi-loop.pid /tmp/stepi-load.pids 2>/dev/null) 2>/dev/null; ' +
                'rm -f /tmp/stepi-loop.pid /tmp/stepi-load.pids; ' +
                'if grep -q "^allocstorm " /proc/modules; then rmmod allocstorm; fi; ' +
                'if grep -q "^kgdboe " /proc/modules; then rmmod kgdboe; fi') | Out-Null
        }
    }

    It 'ran every run it was asked for' {
        @($Results).Count | Should -Be $Runs
    }

    It 'answered every one of the 2,000 steps (no hang)' {
        foreach ($r in $Results) {
            $why = "run $($r.Run): last steps`n$($r.LastSteps)`n$($r.Dump)"
            $r.Hung | Should -BeFalse -Because $why
            $r.Answered | Should -Be $Steps -Because $why
            $r.Finished | Should -BeTrue -Because "gdb deleted the breakpoint and detached; $($r.GdbOutput)"
        }
    }

    It 'never made a step wait for a CPU that did not come' {
        # What would make a step slow on the kernel's side is kgdb's 1 s wait for the other CPUs
        # ("Timed out waiting for secondary CPUs"): the console says it when it happens. Step
        # times themselves are reported above (slowest step per run), not judged: on a shared
        # 2-core host a guest step sometimes takes longer than 1 s with no kernel-side wait.
        $console = Get-Content -Raw -LiteralPath $Lab.ConsoleLog
        $console | Should -Not -Match 'Timed out waiting for secondary CPUs' -Because 'every CPU came into the debugger at every step'
    }

    It 'left a guest that answers SSH and where every CPU makes progress' {
        foreach ($r in $Results) {
            $r.GuestAlive | Should -BeTrue -Because "run $($r.Run); last steps`n$($r.LastSteps)`nconsole:`n$($r.ConsoleTail)"
            $r.CpuProgress.Count | Should -Be 2 -Because 'both CPUs have a /proc/stat line'
            foreach ($cpu in $r.CpuProgress.Keys) {
                $r.CpuProgress[$cpu] | Should -BeGreaterThan 0 -Because "$cpu's /proc/stat times moved over 3 s (run $($r.Run))"
            }
        }
    }
}

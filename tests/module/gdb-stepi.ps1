<#
.SYNOPSIS
Stepping soak: stock gdb single-steps (stepi) a running kernel through kgdboe N times from a
breakpoint on do_nanosleep, while the guest loops `sleep 0.01`; a hung step is caught and every
vCPU's state dumped through QEMU's own gdbstub.

.DESCRIPTION
Reproduces issue 14's "stepping through lock code wedges the whole kernel". Boots (or reuses)
a lab with QEMU's gdbstub, builds kgdboe.ko against the lab kernel, loads it (multi-core mode),
starts `while :; do sleep 0.01; done` in the guest, then runs gdb -batch with gdb-stepi.py:
target remote udp:, the lab's vmlinux symbols at the KASLR offset, `break do_nanosleep`,
continue, then -Steps x stepi. gdb-stepi.py logs one line per step (time, pc, thread, symbol).

A step that does not answer within -HangSeconds counts as hung: the script then attaches a
second gdb to QEMU's gdbstub (tcp) and records, for every vCPU, pc and backtrace, plus kgdb's
own state (kgdb_active, masters/slaves_in_kgdb, the single-step variables, kgdb_info[]).

Afterwards (when not hung) it checks that the guest answers SSH and that every CPU made
progress: the per-CPU lines of /proc/stat, read twice a few seconds apart, must differ.

Returns one object per run: Steps, Answered, Hung, MaxStepSeconds, SlowSteps (> 1 s),
Seconds, CpusProgressing, GuestAlive, LastSteps (tail of the step log), Dump (when hung).

.EXAMPLE
tests/module/gdb-stepi.ps1 -Kernel 6.12 -Nic e1000 -Steps 2000 -Runs 3
#>
[CmdletBinding()]
param(
    [string] $Kernel = '6.12',
    [string] $Nic = 'e1000',
    [int] $Cpus = 2,
    [int] $Steps = 2000,
    [int] $Runs = 1,
    [string] $LabName,
    [string] $Breakpoint = 'do_nanosleep',
    [int] $HangSeconds = 30,
    [double] $SlowSeconds = 1.0,
    [string] $KernelModule,
    [string] $OutDir,
    [switch] $FreshLabEachRun,
    # Also a fork/exec loop pinned to every CPU: allocations on all CPUs all the time.
    [switch] $Load,
    # Also tests/module/allocstorm: a kthread per CPU allocating and freeing skbs and kmalloc
    # buffers in a loop, so a CPU frozen by kgdb is often inside an allocator lock.
    [switch] $Storm,
    [switch] $KeepLab
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../lab/KgdbOeLab.psm1')

if (-not $LabName) { $LabName = "wedge-$Kernel-$Nic" }
if (-not $OutDir) { $OutDir = Join-Path ([IO.Path]::GetTempPath()) "kgdboe-stepi-$PID" }
New-Item -ItemType Directory -Force $OutDir | Out-Null

function Invoke-Guest($Lab, [string] $Command, [switch] $AllowFailure) {
    Invoke-LabSshCommand -Lab $Lab -Command $Command -AllowFailure:$AllowFailure -ConnectTimeout 10
}

function Get-KgdbOeKo($Lab) {
    if ($KernelModule) { return $KernelModule }
    $build = Join-Path $OutDir "ko-$($Lab.Kernel)"
    if (Test-Path (Join-Path $build 'kgdboe.ko')) { return (Join-Path $build 'kgdboe.ko') }
    New-Item -ItemType Directory -Force $build | Out-Null
    Copy-Item (Join-Path $PSScriptRoot '../../module-c/*') $build -Recurse
    $log = & make -s -C $build "KDIR=$($Lab.Kdir)" 2>&1
    if ($LASTEXITCODE -ne 0) { throw "gdb-stepi: kgdboe.ko failed to build: $log" }
    Join-Path $build 'kgdboe.ko'
}

function Get-StormKo($Lab) {
    $build = Join-Path $OutDir "storm-$($Lab.Kernel)"
    if (Test-Path (Join-Path $build 'allocstorm.ko')) { return (Join-Path $build 'allocstorm.ko') }
    New-Item -ItemType Directory -Force $build | Out-Null
    Copy-Item (Join-Path $PSScriptRoot 'allocstorm/*') $build
    $log = & make -s -C $build "KDIR=$($Lab.Kdir)" 2>&1
    if ($LASTEXITCODE -ne 0) { throw "gdb-stepi: allocstorm.ko failed to build: $log" }
    Join-Path $build 'allocstorm.ko'
}

function Get-KaslrOffset($Lab) {
    # Runtime _text (guest kallsyms) minus link-time _text (System.map).
    $runtime = (Invoke-Guest $Lab "grep ' _text`$' /proc/kallsyms") -split '\s+' | Select-Object -First 1
    $linked = (Select-String -LiteralPath $Lab.SystemMap -Pattern ' _text$' | Select-Object -First 1).Line -split '\s+' | Select-Object -First 1
    [Convert]::ToUInt64($runtime, 16) - [Convert]::ToUInt64($linked, 16)
}

function Get-CpuTimes($Lab) {
    # "cpu0 ..." lines of /proc/stat, keyed by CPU, the sum of all their fields.
    $times = @{}
    foreach ($line in (Invoke-Guest $Lab 'grep "^cpu[0-9]" /proc/stat') -split "`n") {
        $f = $line.Trim() -split '\s+'
        $times[$f[0]] = ($f[1..($f.Count - 1)] | ForEach-Object { [uint64]$_ } | Measure-Object -Sum).Sum
    }
    $times
}

function Save-VcpuDump($Lab, [uint64] $Offset, [string] $Path) {
    # Every vCPU's state through QEMU's gdbstub; the VM is stopped while gdb is attached.
    $cmds = @(
        'set pagination off', 'set confirm off', 'set print pretty off', 'set architecture i386:x86-64',
        ('add-symbol-file {0} -o 0x{1:x}' -f $Lab.Vmlinux, $Offset),
        "target remote 127.0.0.1:$($Lab.GdbPort)",
        'info threads')
    for ($t = 1; $t -le $Lab.Cpus; $t++) {
        $cmds += "thread $t", 'info registers rip rsp eflags', 'x/2i $pc', 'bt 40'
    }
    $cmds += @(
        'print kgdb_active', 'print masters_in_kgdb', 'print slaves_in_kgdb',
        'print kgdb_cpu_doing_single_step', 'print kgdb_sstep_pid', 'print kgdb_single_step',
        'print exception_level', 'print dbg_master_lock', 'print dbg_slave_lock',
        'print kgdb_connected', 'print dbg_kdb_mode')
    for ($c = 0; $c -lt $Lab.Cpus; $c++) { $cmds += "print kgdb_info[$c]" }
    $cmds += 'detach'
    $args = @('-nx', '-batch') + ($cmds | ForEach-Object { '-ex', $_ })
    $out = & timeout 300 gdb @args 2>&1
    $out | Set-Content -LiteralPath $Path
    $out -join "`n"
}

function Invoke-StepRun($Lab, [int] $Run) {
    $runDir = Join-Path $OutDir "run-$Run"
    New-Item -ItemType Directory -Force $runDir | Out-Null
    $ko = Get-KgdbOeKo $Lab
    $loaded = Invoke-Guest $Lab 'grep -q "^kgdboe " /proc/modules && echo yes || echo no'
    if ($loaded -ne 'yes') {
        Send-LabFile -Lab $Lab -Path $ko -Destination /tmp/kgdboe.ko
        Invoke-Guest $Lab 'insmod /tmp/kgdboe.ko' | Out-Null
    }
    Invoke-Guest $Lab 'kill $(cat /tmp/stepi-loop.pid 2>/dev/null) 2>/dev/null; setsid sh -c "while :; do sleep 0.01; done" </dev/null >/dev/null 2>&1 & echo $! > /tmp/stepi-loop.pid' | Out-Null
    if ($Load -and -not (Invoke-Guest $Lab 'cat /tmp/stepi-load.pids 2>/dev/null; true')) {
        $loops = (0..($Lab.Cpus - 1) | ForEach-Object {
                "setsid taskset -c $_ sh -c 'while :; do /bin/ls / >/dev/null; done' </dev/null >/dev/null 2>&1 & echo `$! >> /tmp/stepi-load.pids" }) -join '; '
        Invoke-Guest $Lab $loops | Out-Null
    }
    if ($Storm -and (Invoke-Guest $Lab 'grep -q "^allocstorm " /proc/modules && echo yes || echo no') -ne 'yes') {
        Send-LabFile -Lab $Lab -Path (Get-StormKo $Lab) -Destination /tmp/allocstorm.ko
        Invoke-Guest $Lab 'insmod /tmp/allocstorm.ko' | Out-Null
    }
    $offset = Get-KaslrOffset $Lab

    $stepLog = Join-Path $runDir 'steps.log'
    $gdbOut = Join-Path $runDir 'gdb.out'
    $gdbErr = Join-Path $runDir 'gdb.err'
    $env:STEPI_LOG = $stepLog
    $env:STEPI_STEPS = "$Steps"
    $env:STEPI_BREAK = $Breakpoint
    $gdbArgs = @('-nx', '-batch', '-ex', 'set pagination off', '-ex', 'set confirm off',
        '-ex', 'set architecture i386:x86-64',
        '-ex', ('add-symbol-file {0} -o 0x{1:x}' -f $Lab.Vmlinux, $offset),
        '-ex', "target remote udp:127.0.0.1:$($Lab.DebugPort)",
        '-x', (Join-Path $PSScriptRoot 'gdb-stepi.py'))
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $gdb = Start-Process gdb -ArgumentList ($gdbArgs | ForEach-Object { "`"$_`"" }) -PassThru `
        -RedirectStandardOutput $gdbOut -RedirectStandardError $gdbErr
    $hung = $false
    $lastLen = -1; $lastChange = [DateTime]::UtcNow
    # The first stop waits for the loop to reach the breakpoint and gdb to load symbols.
    $grace = [DateTime]::UtcNow.AddSeconds(120)
    while (-not $gdb.HasExited) {
        Start-Sleep -Milliseconds 500
        $len = if (Test-Path $stepLog) { (Get-Item $stepLog).Length } else { 0 }
        if ($len -ne $lastLen) { $lastLen = $len; $lastChange = [DateTime]::UtcNow; continue }
        if ([DateTime]::UtcNow -gt $grace -and ([DateTime]::UtcNow - $lastChange).TotalSeconds -gt $HangSeconds) {
            $hung = $true; break
        }
    }
    $watch.Stop()
    $dump = $null
    if ($hung) {
        $dump = Save-VcpuDump $Lab $offset (Join-Path $runDir 'vcpus.txt')
        Stop-Process -Id $gdb.Id -Force -ErrorAction Ignore
    } else {
        $gdb.WaitForExit()
    }
    $lines = if (Test-Path $stepLog) { @(Get-Content $stepLog) } else { @() }
    $stepLines = @($lines | Where-Object { $_ -like 'step *' })
    $times = @($stepLines | ForEach-Object { [double](($_ -split ' ')[2]) })
    $max = if ($times) { ($times | Measure-Object -Maximum).Maximum } else { 0 }
    $slow = @($stepLines | Where-Object { [double](($_ -split ' ')[2]) -gt $SlowSeconds })

    $alive = $false; $progress = $null; $console = $null; $released = $false
    if (-not $hung) {
        $alive = (Invoke-Guest $Lab 'echo alive' -AllowFailure) -eq 'alive'
        if (-not $alive -and (Test-Path $Lab.ConsoleLog)) {
            # E.g. "Entering kdb ... due to NonMaskable Interrupt": stopped again after the detach.
            $console = (Get-Content $Lab.ConsoleLog -Tail 12) -join "`n"
        }
        if (-not $alive) {
            # As Module.Tests' Assert-GuestAlive: a late copy of gdb's last datagrams can open a
            # new session after the detach (kgdboe's break-in, issue #3's note) and leave the
            # kernel stopped with nobody attached. Release it with one attach/detach, say so, and
            # only then judge: a wedged kernel does not answer this either.
            Write-Warning "$($Lab.Name) run ${Run}: no SSH after the session; one attach/detach"
            $null = & timeout 60 gdb -nx -batch -ex 'set architecture i386:x86-64' `
                -ex "target remote udp:127.0.0.1:$($Lab.DebugPort)" -ex 'detach' 2>&1
            $released = $true
            $alive = (Invoke-Guest $Lab 'echo alive' -AllowFailure) -eq 'alive'
        }
        if ($alive) {
            $a = Get-CpuTimes $Lab; Start-Sleep -Seconds 3; $b = Get-CpuTimes $Lab
            $progress = [ordered]@{}
            foreach ($k in $a.Keys | Sort-Object) { $progress[$k] = $b[$k] - $a[$k] }
        }
    }
    [pscustomobject]@{
        Lab = $Lab.Name; Kernel = $Lab.Kernel; Nic = $Lab.Nic; Run = $Run; Load = [bool]$Load; Storm = [bool]$Storm
        Steps = $Steps; Answered = $stepLines.Count; Hung = $hung
        Finished = [bool]($lines -match '^detached')
        MaxStepSeconds = $max; SlowSteps = $slow.Count; Slow = ($slow | Select-Object -First 10)
        Seconds = [math]::Round($watch.Elapsed.TotalSeconds, 1)
        GuestAlive = $alive; CpuProgress = $progress; ConsoleTail = $console
        ReleasedByDetach = $released
        CpusProgressing = if ($progress) { @($progress.Values | Where-Object { $_ -gt 0 }).Count } else { 0 }
        LastSteps = ($lines | Select-Object -Last 8) -join "`n"
        GdbOutput = ((Get-Content -Raw $gdbOut -ErrorAction Ignore) + (Get-Content -Raw $gdbErr -ErrorAction Ignore))
        Dump = $dump; Dir = $runDir
    }
}

$lab = $null
try {
    for ($run = 1; $run -le $Runs; $run++) {
        if (-not $lab) {
            $lab = Start-KgdbOeLab -Name $LabName -Kernel $Kernel -Nic $Nic -Cpus $Cpus -GdbStub
        }
        $result = Invoke-StepRun $lab $run
        $result
        Write-Host ("{0} run {1}: {2}/{3} steps, hung={4}, max {5:n3} s, slow {6}, {7} s, alive={8}, cpus progressing {9}, released by detach={10}" -f
            $LabName, $run, $result.Answered, $Steps, $result.Hung, $result.MaxStepSeconds, $result.SlowSteps,
            $result.Seconds, $result.GuestAlive, $result.CpusProgressing, $result.ReleasedByDetach)
        if ($result.Hung -and $KeepLab) { break }
        if ($result.Hung -or -not $result.GuestAlive -or $FreshLabEachRun) {
            Stop-KgdbOeLab -Name $LabName; $lab = $null
        }
    }
} finally {
    if ($lab -and -not $KeepLab) { Stop-KgdbOeLab -Name $LabName }
}

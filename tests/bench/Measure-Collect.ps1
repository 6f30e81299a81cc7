<#
.SYNOPSIS
The collecting mode against stock gdb on a running lab, plus a backtrace's and a disassembly's time:
the figures of issue 12 without the whole benchmark (Invoke-Benchmark.ps1 has them too).

.DESCRIPTION
On a lab guest with kgdboe loaded and the workload calling getppid() in a loop (started here):
  - Watch-KernelBreakpoint -Count $Hits on __x64_sys_getppid (records with typed arguments), software
    and hardware breakpoint, without and with a -Condition scriptblock run at every hit;
  - gdb's `commands` loop (silent, printf of a counter, pc and rdi, continue) and gdb's `ignore` loop
    on the same breakpoint, in the same run;
  - Get-KernelStack of the stopped CPU (warm ORC cache) and Get-KernelDisassembly vfs_read (the read
    and the decoding; the decoding alone from bytes already read).
Medians of -Repeat runs; prints a table and returns the figures.

.EXAMPLE
tests/bench/Measure-Collect.ps1 -LabName bp-6.12 -Hits 200 -Repeat 3
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $LabName,
    [int] $Hits = 200,
    [int] $Repeat = 3,
    [ValidateSet('Software', 'Hardware')] [string[]] $Kinds = @('Software', 'Hardware')
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot '../pester/TestLab.ps1')
Import-Module (Join-Path $PSScriptRoot 'GdbBaseline.psm1') -Force
$null = Import-KgdbOeTestModule
$lab = Get-KgdbOeLab -Name $LabName
if (-not $lab) { throw "No running lab named $LabName" }
# kgdboe on the guest, keyless: stock gdb runs the same loop on it (built for the lab's kernel when it is not loaded yet).
if (-not ((Invoke-LabSsh -Lab $lab -Command 'cat /proc/modules') -match '^kgdboe ')) {
    $null = Install-KgdboeModule -ComputerName 127.0.0.1 -SshPort $lab.SshPort -KeyFilePath $lab.KeyPath -KnownHostsPath $lab.KnownHostsPath `
        -ModulePath (Get-LabKernelModule -Lab $lab) -DebugPort $lab.DebugPort -SystemMap $lab.SystemMap -NoKey -Confirm:$false -ErrorAction Stop
}
$work = New-Item -ItemType Directory -Force (Join-Path ([IO.Path]::GetTempPath()) "kgdboe-collect-$PID")
$address = Get-LabRuntimeAddress $lab '__x64_sys_getppid'
function Get-Median([double[]] $v) { $s = @($v | Sort-Object); if ($s.Count % 2) { $s[[int][math]::Floor($s.Count / 2)] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 } }

Invoke-LabSsh -Lab $lab -Command 'killall workload 2>/dev/null; setsid workload 0 </dev/null >/dev/null 2>&1 & true' | Out-Null
$rows = [Collections.Generic.List[object]]::new()
try {
    foreach ($kind in $Kinds) {
        foreach ($condition in $null, { $_.Command -eq 'workload' }) {
            $session = Connect-KernelTarget -ComputerName 127.0.0.1 -Port $lab.DebugPort -SystemMap $lab.SystemMap
            try {
                $bp = Set-KernelBreakpoint -Target $session -Address $address -Kind $kind -Confirm:$false
                $watchArgs = @{ Count = $Hits; Timeout = 1200; Confirm = $false }
                if ($condition) { $watchArgs.Condition = $condition }
                $warm = $watchArgs.Clone(); $warm.Count = 3
                $null = @($bp | Watch-KernelBreakpoint @warm)
                $runs = foreach ($i in 1..$Repeat) {
                    $clock = [Diagnostics.Stopwatch]::StartNew()
                    $records = @($bp | Watch-KernelBreakpoint @watchArgs)
                    $seconds = $clock.Elapsed.TotalSeconds
                    if ($records.Count -ne $Hits) { throw "$($records.Count) records of $Hits" }
                    $stats = [KgdbOe.PowerShell.Commands.WatchKernelBreakpointCommand]::LastStatistics
                    [pscustomobject]@{ PerSecond = $Hits / $seconds; ClientMs = $stats.MillisecondsPerReturnedHit }
                }
                $requests = $session.Statistics.Requests
                $rows.Add([pscustomobject]@{
                        What = "KgdbOe Watch-KernelBreakpoint, $kind$(if ($condition) { ', -Condition' })"
                        HitsPerSecond = [math]::Round((Get-Median $runs.PerSecond), 2)
                        ClientMsPerHit = [math]::Round((Get-Median $runs.ClientMs), 1)
                        RequestsPerHit = [math]::Round($requests / ($Hits * $Repeat + 3), 1)
                    })
                Suspend-KernelTarget -Target $session | Out-Null
                if (-not $condition -and $kind -eq 'Software') {
                    # The stopped CPU is in __x64_sys_getppid: a short stack. Warm ORC cache first.
                    $null = Get-KernelStack -Target $session
                    $stack = foreach ($i in 1..5) { (Measure-Command { $script:frames = @(Get-KernelStack -Target $session) }).TotalMilliseconds }
                    $disasm = foreach ($i in 1..5) { (Measure-Command { $null = Get-KernelDisassembly -Name vfs_read -Target $session }).TotalMilliseconds }
                    # The read alone (the same bytes): the decoding is the difference.
                    $listing = @(Get-KernelDisassembly -Name vfs_read -Target $session)
                    $start = $listing[0].Address
                    $length = [int]($listing[-1].Address + [uint64]$listing[-1].Bytes.Length - $start)
                    $read = foreach ($i in 1..5) { (Measure-Command { $null = Read-KernelMemory -Target $session -Address $start -Length $length }).TotalMilliseconds }
                    $decode = @([math]::Max(0, (Get-Median $disasm) - (Get-Median $read)))
                    $bytes = @{ Length = $length }
                    $rows.Add([pscustomobject]@{ What = "Get-KernelStack, $($frames.Count) frames (ms)"; HitsPerSecond = $null; ClientMsPerHit = [math]::Round((Get-Median $stack), 1); RequestsPerHit = $null })
                    $rows.Add([pscustomobject]@{ What = 'Get-KernelDisassembly vfs_read, read included (ms)'; HitsPerSecond = $null; ClientMsPerHit = [math]::Round((Get-Median $disasm), 1); RequestsPerHit = $null })
                    $rows.Add([pscustomobject]@{ What = "Disassembly of vfs_read, $($bytes.Length) bytes, less the read (ms)"; HitsPerSecond = $null; ClientMsPerHit = [math]::Round((Get-Median $decode), 1); RequestsPerHit = $null })
                }
                Remove-KernelBreakpoint -Target $session -InputObject $bp -Confirm:$false
            } finally {
                Disconnect-KernelTarget -Target $session -Confirm:$false
            }
            Start-Sleep -Seconds 1
        }
        # A gdb side that fails is a row saying so; the other figures still count.
        try {
            $gdbCollect = Measure-GdbCollect -Port $lab.DebugPort -Address $address -Hits $Hits -Repeat $Repeat -WorkDir $work -Hardware:($kind -eq 'Hardware')
            $rows.Add([pscustomobject]@{ What = "gdb commands/printf/continue, $kind"; HitsPerSecond = [math]::Round((Get-Median $gdbCollect.PerSecond), 2); ClientMsPerHit = $null; RequestsPerHit = $null })
        } catch { $rows.Add([pscustomobject]@{ What = "gdb commands/printf/continue, $kind FAILED: $(($_.Exception.Message -split "`n")[0])"; HitsPerSecond = $null; ClientMsPerHit = $null; RequestsPerHit = $null }) }
        Start-Sleep -Seconds 1
        try {
            $gdbIgnore = Measure-GdbHitContinue -Port $lab.DebugPort -Address $address -Hits $Hits -Repeat $Repeat -WorkDir $work -Hardware:($kind -eq 'Hardware')
            $rows.Add([pscustomobject]@{ What = "gdb ignore (no record), $kind"; HitsPerSecond = [math]::Round((Get-Median $gdbIgnore.PerSecond), 2); ClientMsPerHit = $null; RequestsPerHit = $null })
        } catch { $rows.Add([pscustomobject]@{ What = "gdb ignore, $kind FAILED: $(($_.Exception.Message -split "`n")[0])"; HitsPerSecond = $null; ClientMsPerHit = $null; RequestsPerHit = $null }) }
        Start-Sleep -Seconds 1
    }
} finally {
    Invoke-LabSsh -Lab $lab -Command 'killall workload 2>/dev/null; true' | Out-Null
    Remove-Item -Recurse -Force $work -ErrorAction Ignore
}
$rows | Format-Table -AutoSize | Out-String -Width 200 | Write-Host
$rows

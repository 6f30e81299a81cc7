<#
.SYNOPSIS
Benchmarks the kernel-object helpers on a connected, stopped lab kernel: the task list, the last 1,000 log records and
the module list (issue 11: each within 2 s on the lab, 2 vCPUs, e1000).

.DESCRIPTION
Each figure is the median of -Repeat runs, after one untimed run that loads the session's BTF:
  TaskListMs      Get-KernelTask (every process, one read of the needed span of task_struct each);
  Log1000Ms       Get-KernelLog -Last 1000 (descriptors, infos and text in a few large reads);
  ModuleListMs    Get-KernelModule (one read of struct module each);
with the number of objects and the bytes read (ClientStatistics.BytesRead) for each. With -Lab, the guest first writes
1,200 lines to /dev/kmsg (over SSH, while running) so that the log holds at least 1,000 records.
Call it from tests/bench/Invoke-Benchmark.ps1 with the session it connected (symbols needed):
  $objects = & (Join-Path $PSScriptRoot 'Measure-KernelObjects.ps1') -Target $session -Lab $lab

.EXAMPLE
$objects = tests/bench/Measure-KernelObjects.ps1 -Target $session -Lab $lab -Repeat 5
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] $Target,
    # The lab (tests/lab/KgdbOeLab.psm1) of the target, to fill its log first; without it the log is taken as it is.
    $Lab,
    [int] $Repeat = 5
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

if ($Lab) {
    if ($Target.State -eq 'Stopped') { Resume-KernelTarget -Target $Target -Confirm:$false }
    Invoke-LabSshCommand -Lab $Lab -Command 'i=0; while [ $i -lt 1200 ]; do echo "kgdboe bench line $i" > /dev/kmsg; i=$((i+1)); done' | Out-Null
}
if ($Target.State -ne 'Stopped') { Suspend-KernelTarget -Target $Target | Out-Null }
$null = Get-KernelVariable init_task -Target $Target # loads the BTF once, outside the timings

function Measure-Median([scriptblock] $Body) {
    $runs = foreach ($i in 1..$Repeat) {
        $before = $Target.Statistics.BytesRead
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $out = @(& $Body)
        $watch.Stop()
        [pscustomobject]@{ Ms = $watch.Elapsed.TotalMilliseconds; Count = $out.Count; Bytes = $Target.Statistics.BytesRead - $before }
    }
    @($runs | Sort-Object Ms)[[int][Math]::Floor($Repeat / 2)]
}

$tasks = Measure-Median { Get-KernelTask -Target $Target }
$log = Measure-Median { Get-KernelLog -Last 1000 -Target $Target }
$modules = Measure-Median { Get-KernelModule -Target $Target }
[pscustomobject]@{
    TaskListMs = [Math]::Round($tasks.Ms, 1); Tasks = $tasks.Count; TaskListBytes = $tasks.Bytes
    Log1000Ms = [Math]::Round($log.Ms, 1); LogRecords = $log.Count; Log1000Bytes = $log.Bytes
    ModuleListMs = [Math]::Round($modules.Ms, 1); Modules = $modules.Count; ModuleListBytes = $modules.Bytes
    Repeat = $Repeat
}

<#
.SYNOPSIS
Benchmarks the BTF reader (KgdbOe.Types.BtfTypeGraph) on a real kernel's BTF: parse time and managed memory.

.DESCRIPTION
Runs in its own pwsh process so the figures are the reader's alone. For the blob (Debian 6.1's by default, from
tests/lab/fetch-stock-btf.sh), each figure is the median of -Repeat runs:
  ParseMs        BtfTypeGraph.Parse (checks the whole blob, keeps one offset per type);
  FirstLookupMs  the first FindStruct('task_struct') and its members (builds the name index);
  WalkAllMs      making every type object and its C spelling, from a PowerShell loop (mostly the loop's cost);
  AllocatedMB    managed bytes allocated by Parse + first lookup;
  RetainedMB     managed memory the parsed graph keeps alive after the lookup (the blob included).
Writes one object (and -Json writes it as JSON). Call it from tests/bench/Invoke-Benchmark.ps1:
  $btf = & (Join-Path $PSScriptRoot 'Measure-BtfParse.ps1') -CoreDll (Join-Path $PackageDir 'lib/KgdbOe.Core.dll')

.EXAMPLE
dotnet pwsh -NoProfile -File tests/bench/Measure-BtfParse.ps1 -CoreDll src/KgdbOe.Core/bin/Release/netstandard2.0/KgdbOe.Core.dll
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $CoreDll,
    # A raw BTF blob or an ELF file with .BTF; Debian's 6.1 BTF when omitted.
    [string] $BtfPath,
    [int] $Repeat = 5,
    [switch] $Json,
    # Internal: run the measurement in this process (the script calls itself with it in a fresh pwsh).
    [switch] $InProcess
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

if (-not $BtfPath) {
    $BtfPath = (& bash (Join-Path $PSScriptRoot '../lab/fetch-stock-btf.sh') | Select-Object -Last 1)
}
$CoreDll = (Resolve-Path $CoreDll).Path
$BtfPath = (Resolve-Path $BtfPath).Path

if (-not $InProcess) {
    $pwsh = (Get-Process -Id $PID).Path
    $childArgs = @('-NoProfile', '-File', $PSCommandPath, '-CoreDll', $CoreDll, '-BtfPath', $BtfPath, '-Repeat', $Repeat, '-InProcess', '-Json')
    $text = if ($pwsh -match 'dotnet(\.exe)?$') { & $pwsh pwsh @childArgs } else { & $pwsh @childArgs }
    if ($LASTEXITCODE -ne 0) { throw "Measure-BtfParse failed: $text" }
    $result = ($text -join "`n") | ConvertFrom-Json
    if ($Json) { $result | ConvertTo-Json } else { $result }
    return
}

Add-Type -Path $CoreDll
$elfSharp = Join-Path (Split-Path $CoreDll) 'ELFSharp.dll'   # beside it in a module package (lib/); needed for ELF input only
if (Test-Path $elfSharp) { Add-Type -Path $elfSharp }
$bytes = [KgdbOe.Types.KernelBtf]::ReadBlob($BtfPath)   # the file, or an ELF file's .BTF section
$null = [KgdbOe.Types.BtfTypeGraph]::Parse($bytes, $null) # warm up (JIT) before measuring

function Get-Median([double[]] $values) { $s = $values | Sort-Object; $s[[int][Math]::Floor(($s.Count - 1) / 2)] }

$parse = @(); $lookup = @(); $walk = @(); $allocated = @(); $retained = @()
$graph = $null
for ($i = 0; $i -lt $Repeat; $i++) {
    $graph = $null; $task = $null
    [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
    $before = [GC]::GetTotalMemory($true)
    $allocBefore = [GC]::GetTotalAllocatedBytes($true)
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $graph = [KgdbOe.Types.BtfTypeGraph]::Parse($bytes, $null)
    $parse += $watch.Elapsed.TotalMilliseconds
    $watch.Restart()
    $task = $graph.FindStruct('task_struct')
    $null = $task.Members.Count
    $lookup += $watch.Elapsed.TotalMilliseconds
    $allocated += ([GC]::GetTotalAllocatedBytes($true) - $allocBefore) / 1MB
    $retained += ([GC]::GetTotalMemory($true) - $before) / 1MB
    $watch.Restart()
    for ($id = 0; $id -lt $graph.Count; $id++) { $null = $graph[$id].DisplayName }
    $walk += $watch.Elapsed.TotalMilliseconds
}

$result = [pscustomobject]@{
    BtfPath       = $BtfPath
    Bytes         = $bytes.Length
    Types         = $graph.Count
    ParseMs       = [Math]::Round((Get-Median $parse), 1)
    FirstLookupMs = [Math]::Round((Get-Median $lookup), 1)
    WalkAllMs     = [Math]::Round((Get-Median $walk), 1)
    AllocatedMB   = [Math]::Round((Get-Median $allocated), 1)
    RetainedMB    = [Math]::Round((Get-Median $retained), 1)
    Repeat        = $Repeat
}
if ($Json) { $result | ConvertTo-Json -Compress } else { $result }

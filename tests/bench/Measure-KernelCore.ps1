<#
.SYNOPSIS
Times Export-KernelCore on a whole guest (256 MiB by default) and measures the client's memory.

.DESCRIPTION
Boots (or reuses) a bench lab with -MemoryMB of guest memory and kgdboe loaded, then runs the capture
in a pwsh process of its own, so its memory is the capture's: connect with symbols, stop, read the
types, note the process's resident memory (VmRSS), capture the whole RAM to a temporary file, and
report the capture's own figures with the process's peak resident memory (VmHWM, from
/proc/self/status) and the peak minus the baseline. The core file is removed afterwards. Returns one
object: Seconds, MiBPerSecond, RamMiB, Ranges, UnreadablePages, PeakMB, BaselineMB, CaptureMB,
Requests, Retransmissions, and the read path ('m' unless the target offered a faster one).

.EXAMPLE
tests/bench/Measure-KernelCore.ps1 -PackageDir out/KgdbOe -KernelModule out/module-6.12/kgdboe.ko
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $PackageDir,
    [Parameter(Mandatory)] [string] $KernelModule,
    [string] $Kernel = '6.12',
    [string] $LabName = 'bench-core',
    [int] $MemoryMB = 256,
    [switch] $KeepLab
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../lab/KgdbOeLab.psm1')
Import-Module (Join-Path $PSScriptRoot 'BenchLab.psm1') -Force
Import-KgdbOePackage $PackageDir

$work = New-Item -ItemType Directory -Force (Join-Path ([IO.Path]::GetTempPath()) "kgdboe-core-bench-$PID-$(Get-Random)")
$lab = $null
try {
    $lab = Start-BenchLab -Name $LabName -KernelModule $KernelModule -Kernel $Kernel -MemoryMB $MemoryMB
    $child = Join-Path $work 'capture.ps1'
    Set-Content -LiteralPath $child -Value @'
param($PackageDir, $Port, $SystemMap, $Path)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
function Get-StatusKiB([string] $Field) { [long]((@(Get-Content /proc/self/status) -match "^${Field}:")[0] -replace '\D', '') }
Import-Module (Join-Path $PackageDir 'KgdbOe.psd1')
$session = Connect-KernelTarget -ComputerName 127.0.0.1 -Port $Port -SystemMap $SystemMap -Name bench-core
if ($session.State -ne 'Stopped') { Suspend-KernelTarget | Out-Null }
$null = Get-KernelVariable init_task
[GC]::Collect()
$baseline = Get-StatusKiB VmRSS
$before = $session.Statistics | Select-Object *
try {
    $core = Export-KernelCore -Path $Path -Confirm:$false
} finally {
    Resume-KernelTarget -Confirm:$false
}
$after = $session.Statistics
Disconnect-KernelTarget -Confirm:$false
[ordered]@{
    Seconds = [math]::Round($core.Elapsed.TotalSeconds, 1); MiBPerSecond = $core.MiBPerSecond; RamMiB = $core.RamMiB
    Ranges = $core.RangeCount; UnreadablePages = $core.UnreadablePageCount; FileBytes = $core.FileBytes
    PeakMB = [math]::Round((Get-StatusKiB VmHWM) / 1024, 1); BaselineMB = [math]::Round($baseline / 1024, 1)
    Stats = ($after | Out-String).Trim()
} | ConvertTo-Json -Compress
'@
    $json = & dotnet pwsh -NoProfile -File $child -PackageDir (Resolve-Path $PackageDir).Path -Port $lab.DebugPort `
        -SystemMap $lab.SystemMap -Path (Join-Path $work 'vmcore')
    if ($LASTEXITCODE -ne 0) { throw "bench: the capture failed: $json" }
    $r = @($json)[-1] | ConvertFrom-Json
    $r | Add-Member CaptureMB ([math]::Round($r.PeakMB - $r.BaselineMB, 1))
    $r | Add-Member GuestMemoryMB $MemoryMB
    $r | Add-Member Kernel $lab.KernelRelease
    $r
} finally {
    if ($lab -and -not $KeepLab) { Stop-KgdbOeLab -Name $LabName }
    Remove-Item -Recurse -Force -ErrorAction Ignore $work
}

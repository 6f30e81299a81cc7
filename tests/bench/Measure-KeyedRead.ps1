<#
.SYNOPSIS
Times 1 MiB reads over the keyed v2 wire, clean and through the lossy proxy, in the same run
(issue 13, shown 4), and the fast path's rate on a larger read.

.DESCRIPTION
Two keyed sessions to the same lab kernel: one straight to kgdboe's port, one through
tests/tools/LossyUdpProxy (-LossPercent, -DuplicatePercent, -ReorderPercent each way). Each reads
-Length bytes at -Address with Read-KernelMemory -Repeat times (the fast path: the module serves the
read itself; loss is repaired by the client asking again for the holes). Returns both sets of
seconds, their medians and ratio (lossy / clean; issue 13 asks for <= 2), whether every lossy read
equals the first clean one byte for byte, both sessions' statistics, and the clean rate of one
-LargeLength read (MiB/s; issue 15 compares it with gdb's `dump binary memory` in the same run).
Needs the KgdbOe package imported (Import-KgdbOePackage) and a lab with kgdboe loaded keyed with -Key.

.EXAMPLE
tests/bench/Measure-KeyedRead.ps1 -Lab $lab -Key $key -Address 0xffffffff9a000000
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] $Lab,
    [Parameter(Mandatory)] [securestring] $Key,
    [Parameter(Mandatory)] [uint64] $Address,
    [int] $Length = 1MB,
    [int] $Repeat = 7,
    [int] $LargeLength = 4MB,
    [double] $LossPercent = 10,
    [double] $DuplicatePercent = 5,
    [double] $ReorderPercent = 5
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'BenchLab.psm1')

function Measure-Reads($Target, [int] $Runs) {
    foreach ($i in 1..$Runs) {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $bytes = Read-KernelMemory -Target $Target -Address $Address -Length $Length -AsByteArray
        $watch.Stop()
        [pscustomobject]@{ Seconds = $watch.Elapsed.TotalSeconds; Bytes = [byte[]]$bytes }
    }
}

$proxy = $null; $clean = $null; $lossy = $null; $proxyStats = ''
try {
    $clean = Connect-KernelTarget -ComputerName 127.0.0.1 -Port $Lab.DebugPort -Key $Key -ConnectTimeout 60
    $cleanRuns = @(Measure-Reads $clean $Repeat)
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $large = Read-KernelMemory -Target $clean -Address $Address -Length $LargeLength -AsByteArray
    $largeSeconds = $watch.Elapsed.TotalSeconds
    if (@($large).Count -ne $LargeLength) { throw "keyed read bench: the $LargeLength-byte read returned $(@($large).Count) bytes" }
    $cleanStats = "$($clean.Statistics)"
    Disconnect-KernelTarget -Target $clean
    $clean = $null

    $proxy = Start-LossyProxy -TargetPort $Lab.DebugPort -LossPercent $LossPercent -DuplicatePercent $DuplicatePercent -ReorderPercent $ReorderPercent -Seed 21
    $lossy = Connect-KernelTarget -ComputerName 127.0.0.1 -Port $proxy.Port -Key $Key -ConnectTimeout 120
    $lossyRuns = @(Measure-Reads $lossy $Repeat)
    $lossyStats = "$($lossy.Statistics)"

    $reference = $cleanRuns[0].Bytes
    $exact = $true
    foreach ($r in $cleanRuns + $lossyRuns) {
        if (-not [Linq.Enumerable]::SequenceEqual([byte[]]$r.Bytes, [byte[]]$reference)) { $exact = $false }
    }
    $cleanMedian = Get-Median @($cleanRuns.Seconds)
    $lossyMedian = Get-Median @($lossyRuns.Seconds)
    [pscustomobject]@{
        Bytes = $Length; Runs = $Repeat
        Link = "$LossPercent % loss, $DuplicatePercent % duplication, $ReorderPercent % reordering each way"
        CleanSeconds = @($cleanRuns | ForEach-Object { [math]::Round($_.Seconds, 3) })
        LossySeconds = @($lossyRuns | ForEach-Object { [math]::Round($_.Seconds, 3) })
        CleanMedian = [math]::Round($cleanMedian, 3); LossyMedian = [math]::Round($lossyMedian, 3)
        Ratio = [math]::Round($lossyMedian / $cleanMedian, 2); ByteExact = $exact
        LargeBytes = $LargeLength; LargeSeconds = [math]::Round($largeSeconds, 2)
        LargeMiBps = [math]::Round($LargeLength / 1MB / $largeSeconds, 2)
        CleanClientStatistics = $cleanStats; LossyClientStatistics = $lossyStats
    }
} finally {
    if ($clean) { Disconnect-KernelTarget -Target $clean -ErrorAction Continue }
    if ($lossy) { Disconnect-KernelTarget -Target $lossy -ErrorAction Continue }
    if ($proxy) { $null = Stop-LossyProxy $proxy }
}

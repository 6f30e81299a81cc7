<#
.SYNOPSIS
Times stock gdb's 1 MiB `dump binary memory` through Start-KernelGdbBridge, clean and through the
lossy proxy, in the same run.

.DESCRIPTION
Two KgdbOe sessions to the same lab kernel: one straight to kgdboe's port, one through
tests/tools/LossyUdpProxy (-LossPercent, -DuplicatePercent, -ReorderPercent each way). For each, a
bridge in a thread job and gdb -batch dumping -Length bytes at -Address, -Repeat times. Returns the
median seconds of both, their ratio (lossy / clean; issue 13 asks for <= 2), whether every dump is
byte-exact against the first clean one, and the client's statistics of the lossy session.
Needs the KgdbOe package imported (Import-KgdbOePackage) and a lab with kgdboe loaded (with -Key:
loaded keyed with that key; gdb's reads then go through the module's fast path).

.EXAMPLE
tests/bench/Measure-BridgeDump.ps1 -Lab $lab -Address 0xffffffff9a000000 -Length 1MB
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] $Lab,
    [Parameter(Mandatory)] [uint64] $Address,
    [int] $Length = 1MB,
    [int] $Repeat = 3,
    [double] $LossPercent = 10,
    [double] $DuplicatePercent = 5,
    [double] $ReorderPercent = 5,
    [string] $PackageDir = (Split-Path -Parent (Get-Module KgdbOe).Path),
    # Reads in flight at once in both sessions (Connect-KernelTarget -ReadWindow).
    [int] $ReadWindow = 8,
    # The keyed module's key: both sessions speak the v2 wire (gdb's reads then take the fast path).
    [securestring] $Key,
    [int] $TimeoutSeconds = 900
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'BenchLab.psm1')
Import-Module (Join-Path $PSScriptRoot 'GdbBaseline.psm1')

$work = New-Item -ItemType Directory -Force (Join-Path ([IO.Path]::GetTempPath()) "kgdboe-bridge-bench-$PID-$(Get-Random)")

function Measure-BridgedDump($Target, [string] $File) {
    $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $probe.Start(); $port = $probe.LocalEndpoint.Port; $probe.Stop()
    $job = Start-ThreadJob -ScriptBlock {
        Import-Module (Join-Path $using:PackageDir 'KgdbOe.psd1')
        Start-KernelGdbBridge -Target $using:Target -Port $using:port -InformationAction Continue 6>&1 | ForEach-Object { "$_" }
    }
    try {
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while (-not ((Receive-Job $job -Keep 2>&1) -match 'Serving')) {
            if ([DateTime]::UtcNow -gt $deadline -or $job.State -in 'Failed', 'Completed') { throw "bridge bench: no bridge on ${port}: $(Receive-Job $job 2>&1)" }
            Start-Sleep -Milliseconds 100
        }
        $script = Join-Path $work 'dump.gdb'
        @('set pagination off', 'set confirm off', 'set architecture i386:x86-64', "target remote 127.0.0.1:$port",
            ('dump binary memory {0} 0x{1:x} 0x{2:x}' -f $File, $Address, ($Address + [uint64]$Length)), 'detach') | Set-Content $script
        Remove-Item -Force -ErrorAction Ignore $File
        # Timed from gdb's start: the connection is a few requests, the dump thousands.
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $gdb = Start-Process gdb -ArgumentList '-nx', '-batch', '-x', $script -PassThru -RedirectStandardOutput (Join-Path $work 'gdb.out') -RedirectStandardError (Join-Path $work 'gdb.err')
        if (-not $gdb.WaitForExit($TimeoutSeconds * 1000)) { Stop-Process -Id $gdb.Id -Force; throw "bridge bench: gdb did not finish within $TimeoutSeconds s" }
        $watch.Stop()
        $null = Wait-Job $job -Timeout 60
        if (-not (Test-Path $File) -or (Get-Item $File).Length -ne $Length) {
            throw "bridge bench: the dump is missing or short: $(Get-Content -Raw (Join-Path $work 'gdb.err'))"
        }
        $watch.Elapsed.TotalSeconds
    } finally {
        Remove-Job $job -Force -ErrorAction Ignore
    }
}

$proxy = $null; $clean = $null; $lossy = $null
$keyed = if ($Key) { @{ Key = $Key } } else { @{} }
try {
    $clean = Connect-KernelTarget -ComputerName 127.0.0.1 -Port $Lab.DebugPort -ConnectTimeout 60 -ReadWindow $ReadWindow @keyed
    $reference = Join-Path $work 'clean-1.bin'
    $cleanSeconds = foreach ($i in 1..$Repeat) { Measure-BridgedDump $clean (Join-Path $work "clean-$i.bin") }
    Disconnect-KernelTarget -Target $clean
    $clean = $null
    $proxy = Start-LossyProxy -TargetPort $Lab.DebugPort -LossPercent $LossPercent -DuplicatePercent $DuplicatePercent -ReorderPercent $ReorderPercent -Seed 21
    $lossy = Connect-KernelTarget -ComputerName 127.0.0.1 -Port $proxy.Port -ConnectTimeout 120 -ReadWindow $ReadWindow @keyed
    $lossySeconds = foreach ($i in 1..$Repeat) { Measure-BridgedDump $lossy (Join-Path $work "lossy-$i.bin") }
    $expected = [IO.File]::ReadAllBytes($reference)
    $exact = $true
    foreach ($f in Get-ChildItem $work -Filter '*.bin') {
        if (-not [Linq.Enumerable]::SequenceEqual([byte[]][IO.File]::ReadAllBytes($f.FullName), [byte[]]$expected)) { $exact = $false }
    }
    $stats = "$($lossy.Statistics)"
    $cleanMedian = Get-Median @($cleanSeconds)
    $lossyMedian = Get-Median @($lossySeconds)
    [pscustomobject]@{
        Bytes = $Length; Runs = $Repeat
        Link = "$LossPercent % loss, $DuplicatePercent % duplication, $ReorderPercent % reordering each way"
        CleanSeconds = @($cleanSeconds | ForEach-Object { [math]::Round($_, 2) }); LossySeconds = @($lossySeconds | ForEach-Object { [math]::Round($_, 2) })
        CleanMedian = [math]::Round($cleanMedian, 2); LossyMedian = [math]::Round($lossyMedian, 2)
        Ratio = [math]::Round($lossyMedian / $cleanMedian, 2); ReadWindow = $ReadWindow; Keyed = [bool]$Key
        ByteExact = $exact; LossyClientStatistics = $stats
    }
} finally {
    if ($clean) { Disconnect-KernelTarget -Target $clean -ErrorAction Continue }
    if ($lossy) { Disconnect-KernelTarget -Target $lossy -ErrorAction Continue }
    if ($proxy) { $null = Stop-LossyProxy $proxy }
    Remove-Item -Recurse -Force -ErrorAction Ignore $work
}

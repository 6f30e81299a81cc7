# GdbBaseline: the stock-gdb side of each benchmark, over `target remote udp:`.
#
# Every figure is timed inside gdb with its Python clock around the one command measured, so
# gdb's own start-up is never counted (the same as ours: timed inside a running PowerShell).
# gdb runs with -nx and no file: nothing but the remote protocol is being measured.
Set-StrictMode -Version Latest

function Invoke-GdbScript {
    <#
    .SYNOPSIS
    Runs gdb -batch on a script; returns every "BENCH name seconds" line as name -> [double[]].
    #>
    param([Parameter(Mandatory)] [string[]] $Lines, [Parameter(Mandatory)] [string] $WorkDir, [int] $TimeoutSeconds = 600)
    $script = Join-Path $WorkDir "gdb-$(Get-Random).gdb"
    $prologue = @('set pagination off', 'set confirm off', 'set architecture i386:x86-64',
        # No caches: each measured read must go to the target.
        'set code-cache off', 'set stack-cache off', 'python import time')
    ($prologue + $Lines) | Set-Content $script
    $log = "$script.log"
    $gdb = Start-Process gdb -ArgumentList '-nx', '-batch', '-x', $script -PassThru -RedirectStandardOutput $log -RedirectStandardError "$log.err"
    if (-not $gdb.WaitForExit($TimeoutSeconds * 1000)) {
        Stop-Process -Id $gdb.Id -Force
        throw "gdb: script $script did not finish within $TimeoutSeconds s: $(Get-Content -Raw $log -ErrorAction Ignore)"
    }
    $gdb.WaitForExit()  # the redirected output is copied asynchronously; this waits for it
    $output = (Get-Content -Raw $log) + (Get-Content -Raw "$log.err")
    $times = @{}
    foreach ($m in [regex]::Matches($output, '(?m)^BENCH (\S+) ([0-9.]+)')) {
        $name = $m.Groups[1].Value
        $times[$name] = @($times[$name] | Where-Object { $_ -ne $null }) + [double]::Parse($m.Groups[2].Value, [Globalization.CultureInfo]::InvariantCulture)
    }
    [pscustomobject]@{ Times = $times; Output = $output }
}

function Timed([string] $Name, [string] $Command) {
    'python t0 = time.perf_counter()'
    $Command
    "python print('BENCH $Name %.6f' % (time.perf_counter() - t0))"
}

function Measure-GdbDump {
    <#
    .SYNOPSIS
    `dump binary memory` of Length bytes at Address, Repeat times in one session; seconds each.
    #>
    param([int] $Port, [uint64] $Address, [int] $Length, [int] $Repeat, [string] $WorkDir)
    $file = Join-Path $WorkDir "gdb-dump-$Length.bin"
    $lines = @("target remote udp:127.0.0.1:$Port")
    for ($i = 0; $i -lt $Repeat; $i++) {
        $lines += Timed "dump" ('dump binary memory {0} 0x{1:x} 0x{2:x}' -f $file, $Address, ($Address + [uint64]$Length))
    }
    $lines += 'detach'
    $run = Invoke-GdbScript -Lines $lines -WorkDir $WorkDir
    if (-not $run.Times.ContainsKey('dump') -or $run.Times.dump.Count -ne $Repeat) { throw "gdb dump failed: $($run.Output)" }
    [pscustomobject]@{ Seconds = $run.Times.dump; File = $file }
}

function Measure-GdbHitContinue {
    <#
    .SYNOPSIS
    Breakpoint at Address (software, or a debug register with -Hardware); `ignore` makes gdb continue over Hits-1 hits by itself and stop
    at the last: one timed `continue` per round. Returns cycles/s per round and gdb's hit count.
    #>
    param([int] $Port, [uint64] $Address, [int] $Hits, [int] $Repeat, [string] $WorkDir, [switch] $Hardware)
    $break = if ($Hardware) { 'hbreak' } else { 'break' }
    $lines = @("target remote udp:127.0.0.1:$Port", ('{0} *0x{1:x}' -f $break, $Address))
    for ($i = 0; $i -lt $Repeat; $i++) {
        $lines += "ignore 1 $($Hits - 1)"
        $lines += Timed "hits" 'continue'
    }
    $lines += 'info breakpoints', 'delete', 'detach'
    $run = Invoke-GdbScript -Lines $lines -WorkDir $WorkDir -TimeoutSeconds (120 + $Hits * $Repeat / 20)
    $hit = if ($run.Output -match 'already hit (\d+) time') { [int]$Matches[1] } else { 0 }
    if ($hit -ne $Hits * $Repeat) { throw "gdb hit-continue: expected $($Hits * $Repeat) hits, gdb counted $hit`n$($run.Output)" }
    [pscustomobject]@{ Seconds = $run.Times.hits; PerSecond = @($run.Times.hits | ForEach-Object { $Hits / $_ }); HitCount = $hit }
}

function Measure-GdbCollect {
    <#
    .SYNOPSIS
    gdb's collecting loop: a breakpoint whose `commands` print a record of each hit (a counter, pc and the first
    argument register) and `continue`, until Hits hits, then stop; one timed `continue` per round. Returns hits/s
    per round and the records printed (to check none was lost).
    #>
    param([int] $Port, [uint64] $Address, [int] $Hits, [int] $Repeat, [string] $WorkDir, [switch] $Hardware)
    $break = if ($Hardware) { 'hbreak' } else { 'break' }
    $lines = @("target remote udp:127.0.0.1:$Port", 'set $n = 0', 'set $limit = 0', ('{0} *0x{1:x}' -f $break, $Address),
        'commands', 'silent', 'set $n = $n + 1', 'printf "HIT %d %lx %lx\n", $n, $pc, $rdi', 'if $n < $limit', 'continue', 'end', 'end')
    for ($i = 1; $i -le $Repeat; $i++) {
        $lines += "set `$limit = $($Hits * $i)"
        $lines += Timed "collect" 'continue'
    }
    $lines += 'delete', 'detach'
    $run = Invoke-GdbScript -Lines $lines -WorkDir $WorkDir -TimeoutSeconds (120 + $Hits * $Repeat / 10)
    $records = [regex]::Matches($run.Output, '(?m)^HIT \d+ ').Count
    if ($records -ne $Hits * $Repeat -or -not $run.Times.ContainsKey('collect')) {
        throw "gdb collect: expected $($Hits * $Repeat) records, gdb printed $records`n$(($run.Output -split "`n" | Select-Object -Last 20) -join "`n")"
    }
    [pscustomobject]@{ Seconds = $run.Times.collect; PerSecond = @($run.Times.collect | ForEach-Object { $Hits / $_ }); Records = $records }
}

function Measure-GdbConnect {
    <#
    .SYNOPSIS
    `target remote udp:` until gdb has the stop reply and shows its prompt, then detach; Repeat times.
    #>
    param([int] $Port, [int] $Repeat, [string] $WorkDir)
    $lines = @()
    for ($i = 0; $i -lt $Repeat; $i++) {
        $lines += Timed "connect" "target remote udp:127.0.0.1:$Port"
        $lines += 'detach', 'python time.sleep(0.5)'
    }
    $run = Invoke-GdbScript -Lines $lines -WorkDir $WorkDir
    if (-not $run.Times.ContainsKey('connect') -or $run.Times.connect.Count -ne $Repeat) { throw "gdb connect failed: $($run.Output)" }
    [pscustomobject]@{ Seconds = $run.Times.connect }
}

Export-ModuleMember -Function Invoke-GdbScript, Measure-GdbDump, Measure-GdbHitContinue, Measure-GdbCollect, Measure-GdbConnect

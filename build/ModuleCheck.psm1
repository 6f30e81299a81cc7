<#
.SYNOPSIS
The kgdboe source checks that need a kernel tree but no VM: the -Werror build and checkpatch.

.DESCRIPTION
One place for both checks, used by build.ps1 Check (against every lab kernel already in the cache)
and by tests/pester/Module.Tests.ps1 (against the lab kernels it builds). Each returns an object
with Passed and Log, so the caller decides how to report.
#>
Set-StrictMode -Version Latest

$script:ModuleSource = Join-Path $PSScriptRoot '../module-c'

function Get-CachedLabKernel {
    <#
    .SYNOPSIS
    The lab kernels whose build finished (~/.cache/kgdboe/kernel-*/.done): Series, Name, Dir, Kdir.

    .DESCRIPTION
    Never builds or waits: a kernel still being built (no .done yet) is left out.
    #>
    [CmdletBinding()]
    param([string] $CacheRoot = $(if ($env:KGDBOE_CACHE) { $env:KGDBOE_CACHE } else { Join-Path $HOME '.cache/kgdboe' }))
    if (-not (Test-Path -LiteralPath $CacheRoot)) { return }
    foreach ($dir in Get-ChildItem -LiteralPath $CacheRoot -Directory -Filter 'kernel-*' | Sort-Object Name) {
        if (-not (Test-Path -LiteralPath (Join-Path $dir.FullName '.done'))) { continue }
        $series = if ($dir.Name -match '^kernel-(\d+\.\d+)-') { $Matches[1] } else { '' }
        [pscustomobject]@{ Series = $series; Name = $dir.Name; Dir = $dir.FullName; Kdir = Join-Path $dir.FullName 'src' }
    }
}

function Test-KgdboeBuild {
    <#
    .SYNOPSIS
    Builds kgdboe.ko against a kernel tree in a private temporary folder; passes only when make
    exits 0, the module exists and the log has no "warning:" (the Makefile adds -Werror, and
    modpost's warnings are not compiler warnings, so both are checked).
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Kdir)
    # A folder of this call's own: parallel runs and other kernels never share objects.
    $build = Join-Path ([IO.Path]::GetTempPath()) "kgdboe-check-$PID-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
    New-Item -ItemType Directory -Force $build | Out-Null
    try {
        Copy-Item (Join-Path $script:ModuleSource '*') $build -Recurse
        $log = (& make -C $build "KDIR=$Kdir" 2>&1 | ForEach-Object { "$_" }) -join "`n"
        $exit = $LASTEXITCODE
        $ko = Test-Path -LiteralPath (Join-Path $build 'kgdboe.ko')
        $warnings = $log -match 'warning:'
        [pscustomobject]@{
            Passed   = $exit -eq 0 -and $ko -and -not $warnings
            ExitCode = $exit
            Log      = $log
            Why      = if ($exit -ne 0) { "make exited $exit" } elseif (-not $ko) { 'no kgdboe.ko' } elseif ($warnings) { 'the build warned' } else { '' }
        }
    } finally { Remove-Item -Recurse -Force $build -ErrorAction Ignore }
}

function Test-KgdboeCheckpatch {
    <#
    .SYNOPSIS
    Runs the kernel's scripts/checkpatch.pl --strict over kgdboe's .c and .h files; passes only on
    exit 0 with "total: 0 errors, 0 warnings, 0 checks" for every file.

    .DESCRIPTION
    CONST_STRUCT is ignored, for one line: kgdb_register_io_module() takes a non-const
    struct kgdb_io, so ours cannot be const (kgdboc gets the same warning).
    #>
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Kdir)
    $sources = Get-ChildItem $script:ModuleSource -Include '*.c', '*.h' -Recurse | ForEach-Object FullName
    $log = (& perl (Join-Path $Kdir 'scripts/checkpatch.pl') --strict --no-tree --ignore CONST_STRUCT -f @sources 2>&1 |
            ForEach-Object { "$_" }) -join "`n"
    $exit = $LASTEXITCODE
    $dirty = @($log -split "`n" | Where-Object { $_ -match '^total:' -and $_ -notmatch 'total: 0 errors, 0 warnings, 0 checks' })
    $totals = @($log -split "`n" | Where-Object { $_ -match '^total:' })
    [pscustomobject]@{
        Passed   = $exit -eq 0 -and $dirty.Count -eq 0 -and $totals.Count -eq @($sources).Count
        ExitCode = $exit
        Log      = $log
        Why      = if ($exit -ne 0) { "checkpatch exited $exit" } elseif ($dirty.Count) { $dirty -join '; ' } elseif ($totals.Count -ne @($sources).Count) { 'checkpatch did not report every file' } else { '' }
    }
}

Export-ModuleMember -Function Get-CachedLabKernel, Test-KgdboeBuild, Test-KgdboeCheckpatch

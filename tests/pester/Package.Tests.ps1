# The package as Windows PowerShell 5.1 would see it. This machine has no Windows PowerShell, so
# what can be checked is checked statically: the manifest's promises, and that every assembly in
# the package runs on .NET Framework 4.7.2 (netstandard2.0, and PowerShellStandard's
# System.Management.Automation 3.0, which 5.1 provides). A dependency that only targets .NET
# Core fails here.
BeforeDiscovery {
    $Root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $PackagePath = @($env:KGDBOE_PACKAGE,
        (Join-Path $Root 'out/KgdbOe'),
        (Join-Path $Root 'src/KgdbOe.PowerShell/bin/Release/netstandard2.0/KgdbOe'),
        (Join-Path $Root 'src/KgdbOe.PowerShell/bin/Debug/netstandard2.0/KgdbOe')) |
        Where-Object { $_ -and (Test-Path (Join-Path $_ 'KgdbOe.psd1')) } | Select-Object -First 1
    if (-not $PackagePath) { throw 'Package.Tests: no built module found (run build.ps1 Build)' }
    # Read in a child process: loading the assemblies here would pin them in this session.
    $reader = {
        param($Dir)
        foreach ($f in Get-ChildItem $Dir -Recurse -Filter *.dll) {
            $a = [Reflection.Assembly]::LoadFile($f.FullName)
            $tfm = @($a.GetCustomAttributesData() | Where-Object { $_.AttributeType.Name -eq 'TargetFrameworkAttribute' } |
                    ForEach-Object { $_.ConstructorArguments[0].Value })
            [pscustomobject]@{
                Name       = $f.Name
                Framework  = if ($tfm) { $tfm[0] } else { '' }
                References = @($a.GetReferencedAssemblies() | ForEach-Object { "$($_.Name) $($_.Version)" })
            }
        }
    }
    $json = & (Join-Path $PSHOME 'pwsh') -NoProfile -NonInteractive -Command "& { $reader } '$PackagePath' | ConvertTo-Json -Depth 3"
    $Assemblies = @($json | ConvertFrom-Json)
}

Describe 'The package for Windows PowerShell 5.1 and PowerShell 7' -Tag 'Package' -ForEach @{ Package = $PackagePath; All = $Assemblies } {
    It 'declares both editions, PowerShell 5.1 and .NET Framework 4.7.2' {
        $manifest = Import-PowerShellDataFile (Join-Path $Package 'KgdbOe.psd1')
        $manifest.CompatiblePSEditions | Should -Be @('Desktop', 'Core')
        $manifest.PowerShellVersion | Should -Be '5.1'
        $manifest.DotNetFrameworkVersion | Should -Be '4.7.2'
    }

    It 'ships only assemblies .NET Framework can load (<_.Name>)' -ForEach $Assemblies {
        # netstandard2.0 (netstandard 2.1 and net5+ do not load on .NET Framework); an assembly with
        # no framework attribute (IL-authored, as System.Runtime.CompilerServices.Unsafe) must
        # still reference only netstandard 2.0 or mscorlib.
        $_.Framework | Should -BeIn @('.NETStandard,Version=v2.0', '')
        foreach ($reference in $_.References) {
            $reference | Should -Not -Match '^(System\.Runtime|System\.Private\.CoreLib) '
            $reference | Should -Not -Match '^netstandard (?!2\.0\.0\.0$)'
        }
    }

    It 'binds KgdbOe.dll to the System.Management.Automation that 5.1 has' {
        $module = $All | Where-Object Name -eq 'KgdbOe.dll'
        $module.References | Should -Contain 'System.Management.Automation 3.0.0.0'
    }
}

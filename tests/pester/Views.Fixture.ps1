# Shared by discovery and the run of Views.Tests.ps1: loads the built module, finds its output types.
$repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
# The package build.ps1 makes, else the module folder `dotnet build src/KgdbOe.PowerShell` lays out.
$script:ModuleDir = @(
    $env:KGDBOE_MODULE_DIR
    Join-Path $repoRoot 'out/KgdbOe'
    Join-Path $repoRoot 'src/KgdbOe.PowerShell/bin/Debug/netstandard2.0/KgdbOe'
) | Where-Object { $_ -and (Test-Path (Join-Path $_ 'KgdbOe.psd1')) } | Select-Object -First 1
if (-not $ModuleDir) { throw 'No built KgdbOe module folder: run build.ps1 Build or dotnet build src/KgdbOe.PowerShell.' }
Import-Module (Join-Path $ModuleDir 'KgdbOe.psd1') -Force

# The KgdbOe types the cmdlets declare with [OutputType] (FileInfo, byte[], string are PowerShell's own).
function Get-DeclaredOutputType {
    $assembly = (Get-Module KgdbOe).ImplementingAssembly
    $assembly.GetTypes() |
        Where-Object { $_.IsSubclassOf([System.Management.Automation.Cmdlet]) -and -not $_.IsAbstract } |
        ForEach-Object { $_.GetCustomAttributes([System.Management.Automation.OutputTypeAttribute], $true) } |
        ForEach-Object { $_.Type } | ForEach-Object { $_.Type } |
        Where-Object { $_ -and $_.Assembly.GetName().Name -in 'KgdbOe', 'KgdbOe.Core' } |
        # A typed object's properties are the C members of whatever type it holds (an adapter adds
        # them): PowerShell's own table and list of those properties are its views.
        Where-Object FullName -ne 'KgdbOe.PowerShell.KernelObjectView' |
        Sort-Object FullName -Unique
}

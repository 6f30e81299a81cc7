using System;
using System.Collections.Generic;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace KgdbOe.Tests.Lab
{
    /// <summary>
    /// A test that needs lab VMs: skipped when their state files are not given, unless
    /// KGDBOE_REQUIRE_LAB=1, in which case it runs and fails for the missing lab. Every such test
    /// carries the trait Category=Lab, so a run without VMs leaves them out
    /// (<c>dotnet test --filter Category!=Lab</c>, as build.ps1 Check does) and the lab run takes
    /// only them (<c>Category=Lab</c>).
    /// </summary>
    [TraitDiscoverer("KgdbOe.Tests.Lab.LabTraitDiscoverer", "KgdbOe.Tests")]
    public sealed class LabFactAttribute : FactAttribute, ITraitAttribute
    {
        public LabFactAttribute(params string[] stateVariables)
        {
            if (Environment.GetEnvironmentVariable("KGDBOE_REQUIRE_LAB") == "1") return;
            foreach (string variable in stateVariables.Length == 0 ? new[] { LabState.PrimaryVariable } : stateVariables)
                if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)))
                    Skip = $"No lab: set {variable} to a lab's state.json (KGDBOE_REQUIRE_LAB=1 makes this a failure).";
        }
    }

    /// <summary>Gives every <see cref="LabFactAttribute"/> test the trait Category=Lab.</summary>
    public sealed class LabTraitDiscoverer : ITraitDiscoverer
    {
        public const string Category = "Category";
        public const string Lab = "Lab";

        public IEnumerable<KeyValuePair<string, string>> GetTraits(IAttributeInfo traitAttribute)
        {
            yield return new KeyValuePair<string, string>(Category, Lab);
        }
    }
}

using Xunit;

namespace KgdbOe.Tests.Lab
{
    /// <summary>Lab tests share VMs (and kgdboe takes one peer at a time): they run one after another.</summary>
    [CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class LabCollection
    {
        public const string Name = "lab";
    }
}

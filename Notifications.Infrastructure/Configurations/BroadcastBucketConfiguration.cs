using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Notifications.Infrastructure.Data;

namespace Notifications.Infrastructure.Configurations;

internal sealed class BroadcastBucketConfiguration : IEntityTypeConfiguration<BroadcastBucket>
{
    public void Configure(EntityTypeBuilder<BroadcastBucket> builder)
    {
        builder.ToTable("BroadcastBuckets");
        builder.HasKey(b => b.Bucket);
        builder.Property(b => b.Bucket).ValueGeneratedNever();
    }
}

"""Fleet reporting queries shared by the Fleet API and the fleet dashboard."""
